// NNMF's hand-written training step: backprop() against central finite differences (double
// precision) for every activation, chunked (2 threads) against one chunk, and one latent step of
// LatentSide against the RMSProp formula with the paper's penalty (and the bias penalty), and the
// moving average of a member.
#include <gtest/gtest.h>

#include <ATen/Parallel.h>

#include "models/nnmf/nnmf_step.h"

namespace mfkit {
namespace {

struct Tiny {
  NnmfParams p;
  nnmf::Member m;
  torch::Tensor u, i, r;
  Tiny(const std::string& activation, int64_t n, uint64_t seed, bool skip = false) {
    p.d = 3;
    p.d_prime = 4;
    p.k = 2;
    p.layers = 2;
    p.hidden = 5;
    p.biases = true;
    p.activation = activation;
    p.skip = skip;
    p.warm_start = "none";
    p.lambda = 40;
    m.init(p, 7, 6, 3.5, seed);
    m.net->to(torch::kDouble);
    torch::NoGradGuard g;
    // Nonzero biases: with zero biases a ReLU unit fed by dead units sits exactly on its kink.
    for (auto& lin : nnmf::linear_layers(m)) lin->bias.normal_(0, 0.1);
    if (m.skip) {
      m.skip->to(torch::kDouble);
      m.skip->weight.normal_(0, 1);
    }
    for (torch::Tensor* t : {&m.U, &m.Up, &m.V, &m.Vp, &m.bu, &m.bi}) *t = (*t * 5).to(torch::kDouble);
    m.bu.normal_(0, 0.3);
    m.bi.normal_(0, 0.3);
    u = torch::randint(7, {n}, torch::kLong);
    i = torch::randint(6, {n}, torch::kLong);
    r = torch::randint(1, 6, {n}, torch::kDouble);
  }
  double sse() {
    torch::NoGradGuard g;
    torch::Tensor y = nnmf::predict_rows(m, p, m.U.index_select(0, u), m.Up.index_select(0, u), m.V.index_select(0, i),
                                         m.Vp.index_select(0, i), m.bu.index_select(0, u), m.bi.index_select(0, i));
    return (y - r).pow(2).sum().item<double>();
  }
};

// Per-row gradient from per-example gradients.
torch::Tensor scatter(const torch::Tensor& rows, const torch::Tensor& g, int64_t n_rows) {
  torch::Tensor x = g.dim() == 1 ? g.unsqueeze(1) : g;
  return torch::zeros({n_rows, x.size(1)}, x.options())
      .index_add_(0, rows, x)
      .view(g.dim() == 1 ? std::vector<int64_t>{n_rows} : std::vector<int64_t>{n_rows, x.size(1)});
}

void expect_matches_finite_differences(Tiny& t, torch::Tensor& param, const torch::Tensor& grad, const char* what) {
  SCOPED_TRACE(what);  // which parameter
  torch::Tensor flat = param.view({-1}), g = grad.contiguous().view({-1});
  ASSERT_EQ(flat.numel(), g.numel());
  for (int64_t k = 0; k < flat.numel(); ++k) {
    const double h = 1e-6, orig = flat[k].item<double>();
    flat[k] = orig + h;
    const double up = t.sse();
    flat[k] = orig - h;
    const double down = t.sse();
    flat[k] = orig;
    const double numeric = (up - down) / (2 * h);
    EXPECT_NEAR(g[k].item<double>(), numeric, 1e-5 * std::max(1.0, std::fabs(numeric))) << "entry " << k;
  }
}

class NnmfStepGradient : public ::testing::TestWithParam<std::tuple<std::string, bool>> {};

TEST_P(NnmfStepGradient, BackpropMatchesFiniteDifferences) {
  torch::manual_seed(3);
  Tiny t(std::get<0>(GetParam()), 9, 5, std::get<1>(GetParam()));
  nnmf::BatchGrads g = nnmf::backprop(t.m, t.p, t.u, t.i, t.r, true, true, 1);
  EXPECT_NEAR(g.sse, t.sse(), 1e-9 * std::max(1.0, t.sse()));
  auto layers = nnmf::linear_layers(t.m);
  ASSERT_EQ(layers.size(), 3u);
  ASSERT_EQ(g.weights.size(), t.m.skip ? 7u : 6u);
  torch::NoGradGuard no_grad;
  if (t.m.skip) expect_matches_finite_differences(t, t.m.skip->weight, g.weights.back(), "t.m.skip->weight");
  for (size_t l = 0; l < layers.size(); ++l) {
    expect_matches_finite_differences(t, layers[l]->weight, g.weights[2 * l], "layers[l]->weight");
    expect_matches_finite_differences(t, layers[l]->bias, g.weights[2 * l + 1], "layers[l]->bias");
  }
  expect_matches_finite_differences(t, t.m.U, scatter(t.u, g.du, 7), "t.m.U");
  expect_matches_finite_differences(t, t.m.Up, scatter(t.u, g.dup, 7), "t.m.Up");
  expect_matches_finite_differences(t, t.m.V, scatter(t.i, g.dv, 6), "t.m.V");
  expect_matches_finite_differences(t, t.m.Vp, scatter(t.i, g.dvp, 6), "t.m.Vp");
  expect_matches_finite_differences(t, t.m.bu, scatter(t.u, g.dbias, 7), "t.m.bu");
  expect_matches_finite_differences(t, t.m.bi, scatter(t.i, g.dbias, 6), "t.m.bi");
}

INSTANTIATE_TEST_SUITE_P(ActivationsAndSkip, NnmfStepGradient,
                         ::testing::Combine(::testing::Values("sigmoid", "tanh", "relu", "elu"), ::testing::Bool()));

TEST(NnmfStep, ChunksPerThreadGiveTheSameGradientsAsOneChunk) {
  torch::manual_seed(4);
  Tiny t("sigmoid", 5000, 9);
  const int threads = at::get_num_threads();
  at::set_num_threads(1);
  nnmf::BatchGrads one = nnmf::backprop(t.m, t.p, t.u, t.i, t.r, true, true, 1);
  at::set_num_threads(2);
  nnmf::BatchGrads two = nnmf::backprop(t.m, t.p, t.u, t.i, t.r, true, true, 1);
  at::set_num_threads(threads);
  EXPECT_NEAR(one.sse, two.sse, 1e-9 * one.sse);
  for (size_t k = 0; k < one.weights.size(); ++k)
    EXPECT_TRUE(torch::allclose(one.weights[k], two.weights[k], 1e-9, 1e-9)) << k;
  EXPECT_TRUE(torch::equal(one.du, two.du));
  EXPECT_TRUE(torch::equal(one.dvp, two.dvp));
  EXPECT_TRUE(torch::equal(one.dbias, two.dbias));
}

TEST(NnmfStep, DropoutMasksFollowTheSeed) {
  torch::manual_seed(5);
  Tiny t("sigmoid", 50, 9);
  t.p.dropout = 0.5;
  t.m.init(t.p, 7, 6, 3.5, 9);  // now with dropout layers
  t.m.net->to(torch::kDouble);
  for (torch::Tensor* x : {&t.m.U, &t.m.Up, &t.m.V, &t.m.Vp, &t.m.bu, &t.m.bi}) *x = x->to(torch::kDouble);
  auto a = nnmf::backprop(t.m, t.p, t.u, t.i, t.r, true, true, 7),
       b = nnmf::backprop(t.m, t.p, t.u, t.i, t.r, true, true, 7);
  auto c = nnmf::backprop(t.m, t.p, t.u, t.i, t.r, true, true, 8);
  EXPECT_TRUE(torch::equal(a.weights[0], b.weights[0]));
  EXPECT_FALSE(torch::equal(a.weights[0], c.weights[0]));
}

TEST(NnmfStep, LatentStepUpdatesTouchedRowsByRmspropWithThePenalty) {
  NnmfParams p;
  p.optimizer = "rmsprop";
  torch::Tensor U = torch::tensor({1.0f, 2.0f, 3.0f, 4.0f, 5.0f, 6.0f}).view({3, 2});
  torch::Tensor Up = torch::zeros({3, 0});
  torch::Tensor before = U.clone();
  nnmf::LatentSide side({U, Up, torch::Tensor()}, torch::tensor({2.0f, 5.0f, 1.0f}));
  torch::Tensor rows = torch::tensor(std::vector<int64_t>{0, 2, 0});
  torch::Tensor g = torch::tensor({0.5f, -1.0f, 2.0f, 0.0f, 0.25f, 0.25f}).view({3, 2});
  const double lambda = 0.1, lr = 0.01;
  side.step(rows, {g, torch::zeros({3, 0}), torch::Tensor()}, p, lambda, lr, 1);
  // Row 0 appears twice (count 2): grad = sum of its rows + 2 * 2 * lambda / 2 * x.
  for (int c = 0; c < 2; ++c) {
    const double x = before[0][c].item<double>();
    const double grad = g[0][c].item<double>() + g[2][c].item<double>() + 2 * 2 * lambda / 2 * x;
    const double s = 0.1 * grad * grad;
    EXPECT_NEAR(U[0][c].item<double>(), x - lr * grad / std::sqrt(s), 1e-5);
    const double x2 = before[2][c].item<double>(), grad2 = g[1][c].item<double>() + 2 * lambda / 1 * x2;
    EXPECT_NEAR(U[2][c].item<double>(), x2 - lr * grad2 / std::sqrt(0.1 * grad2 * grad2), 1e-5);
  }
  EXPECT_TRUE(torch::equal(U[1], before[1]));  // untouched
  // The gradient buffer was cleared: zero gradients and no penalty leave the rows where they are.
  torch::Tensor after = U.clone();
  side.step(torch::tensor(std::vector<int64_t>{0, 2}), {torch::zeros({2, 2}), torch::zeros({2, 0}), torch::Tensor()}, p,
            0.0, lr, 2);
  EXPECT_TRUE(torch::equal(U, after));
}

TEST(NnmfStep, LatentStepAddedInPiecesIsTheSameStep) {
  NnmfParams p;
  torch::Tensor U1 = torch::tensor({1.0f, 2.0f, 3.0f, 4.0f, 5.0f, 6.0f}).view({3, 2}), U2 = U1.clone();
  nnmf::LatentSide one({U1, torch::zeros({3, 0}), torch::Tensor()}, torch::tensor({2.0f, 5.0f, 1.0f}));
  nnmf::LatentSide two({U2, torch::zeros({3, 0}), torch::Tensor()}, torch::tensor({2.0f, 5.0f, 1.0f}));
  torch::Tensor rows = torch::tensor(std::vector<int64_t>{0, 2, 0, 1});
  torch::Tensor g = torch::tensor({0.5f, -1.0f, 2.0f, 0.0f, 0.25f, 0.25f, -3.0f, 1.0f}).view({4, 2});
  torch::Tensor none = torch::zeros({2, 0});
  for (int64_t t = 1; t <= 2; ++t) {
    one.step(rows, {g, torch::zeros({4, 0}), torch::Tensor()}, p, 0.1, 0.01, t);
    const torch::Tensor before = U2.clone();
    two.add(rows.slice(0, 0, 2), {g.slice(0, 0, 2), none, torch::Tensor()}, p, 0.1);
    two.add(rows.slice(0, 2, 4), {g.slice(0, 2, 4), none, torch::Tensor()}, p, 0.1);
    EXPECT_TRUE(torch::equal(U2, before));  // add() leaves the latents alone
    two.apply(p, 0.01, t);
    EXPECT_TRUE(torch::allclose(U1, U2, 0, 1e-6)) << "step " << t;
  }
}

TEST(NnmfStep, RegExponentOneChargesThePenaltyPerRating) {
  NnmfParams p;
  p.optimizer = "rmsprop";
  torch::Tensor U = torch::tensor({2.0f, -1.0f}).view({2, 1});
  nnmf::LatentSide side({U, torch::zeros({2, 0}), torch::Tensor()}, torch::tensor({4.0f, 9.0f}), 1.0);
  // Row 0 (count 4) twice with data gradient -1: per rating the penalty adds 2 * 0.5 * 2 = 2 each,
  // total +2, so the row moves down (with the paper's 1/count spreading it would total -1: up).
  side.step(torch::tensor(std::vector<int64_t>{0, 0, 1}),
            {torch::tensor({-1.0f, -1.0f, 3.0f}).view({3, 1}), torch::zeros({3, 0}), torch::Tensor()}, p, 0.5, 0.01, 1);
  const double g0 = -2 + 2 * (2 * 0.5 * 2.0), g1 = 3 + 2 * 0.5 * -1.0;
  EXPECT_NEAR(U[0][0].item<double>(), 2.0 - 0.01 * g0 / std::sqrt(0.1 * g0 * g0), 1e-5);
  EXPECT_NEAR(U[1][0].item<double>(), -1.0 - 0.01 * g1 / std::sqrt(0.1 * g1 * g1), 1e-5);
}

TEST(NnmfStep, BiasLambdaPenalisesTheBiasesOnly) {
  NnmfParams p;
  p.optimizer = "rmsprop";
  p.bias_lambda = 3.0;
  torch::Tensor U = torch::tensor({1.0f, -2.0f}).view({2, 1}), b = torch::tensor({0.5f, -0.25f});
  nnmf::LatentSide side({U, torch::zeros({2, 0}), b}, torch::tensor({1.0f, 2.0f}));
  // Zero data gradients: lambda 0 leaves U alone, bias_lambda pulls each bias towards 0 with the
  // gradient 2 * bias_lambda * b / count per occurrence (row 1 once, count 2: half its penalty).
  side.step(torch::tensor(std::vector<int64_t>{0, 1}), {torch::zeros({2, 1}), torch::zeros({2, 0}), torch::zeros({2})},
            p, 0.0, 0.01, 1);
  EXPECT_FLOAT_EQ(U[0][0].item<float>(), 1.0f);
  EXPECT_FLOAT_EQ(U[1][0].item<float>(), -2.0f);
  const double g0 = 2 * 3.0 * 0.5, g1 = 2 * 3.0 * -0.25 / 2;
  EXPECT_NEAR(b[0].item<double>(), 0.5 - 0.01 * g0 / std::sqrt(0.1 * g0 * g0), 1e-6);
  EXPECT_NEAR(b[1].item<double>(), -0.25 - 0.01 * g1 / std::sqrt(0.1 * g1 * g1), 1e-6);
}

TEST(NnmfStep, BlendIsAMovingAverageOfEveryLatentAndWeight) {
  Tiny a("sigmoid", 4, 1, true), b("sigmoid", 4, 2, true);
  nnmf::Member avg = a.m.clone();
  const torch::Tensor a_u = a.m.U.clone();
  avg.blend(b.m, 0.75);
  std::vector<torch::Tensor> x = avg.latents(), xa = a.m.latents(), xb = b.m.latents();
  for (const auto& w : avg.weights()) x.push_back(w);
  for (const auto& w : a.m.weights()) xa.push_back(w);
  for (const auto& w : b.m.weights()) xb.push_back(w);
  ASSERT_EQ(x.size(), xa.size());
  for (size_t k = 0; k < x.size(); ++k) EXPECT_TRUE(torch::allclose(x[k], 0.75 * xa[k] + 0.25 * xb[k])) << k;
  EXPECT_FALSE(torch::allclose(x[0], xa[0]));
  EXPECT_TRUE(torch::equal(a.m.U, a_u));  // the clone is averaged, not the member it came from
}

}  // namespace
}  // namespace mfkit
