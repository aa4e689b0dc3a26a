// NNMF's objective: autograd gradients against central finite differences (double precision),
// for the latents and the network weights, on a tiny problem.
#include <gtest/gtest.h>

#include "models/nnmf_net.h"

namespace mfkit {
namespace {

TEST(Nnmf, GradientsMatchFiniteDifferences) {
  NnmfParams p;
  p.d = 3;
  p.d_prime = 4;
  p.k = 2;
  p.layers = 2;
  p.hidden = 5;
  p.biases = true;
  nnmf::Member m;
  m.init(p, 4, 5, 3.5, 11);
  m.net->to(torch::kDouble);
  for (torch::Tensor* t : {&m.U, &m.Up, &m.V, &m.Vp, &m.bu, &m.bi}) *t = t->to(torch::kDouble).requires_grad_(true);
  torch::Tensor u = torch::tensor(std::vector<int64_t>{0, 1, 3, 0, 2}), i = torch::tensor(std::vector<int64_t>{1, 4, 0, 2, 2});
  torch::Tensor r = torch::tensor(std::vector<double>{4, 2, 5, 3, 1}, torch::kDouble);
  torch::Tensor wu = torch::full({5}, 0.5, torch::kDouble), wi = torch::full({5}, 0.25, torch::kDouble);
  auto loss_fn = [&] {
    torch::Tensor U = m.U.index_select(0, u), Up = m.Up.index_select(0, u), V = m.V.index_select(0, i),
                  Vp = m.Vp.index_select(0, i);
    torch::Tensor y = nnmf::predict_rows(m, p, U, Up, V, Vp, m.bu.index_select(0, u), m.bi.index_select(0, i));
    return nnmf::objective(y, r, 0.7, U, Up, V, Vp, wu, wi);
  };
  torch::Tensor loss = loss_fn();
  loss.backward();
  std::vector<torch::Tensor> params = {m.U, m.Up, m.V, m.Vp, m.bu, m.bi};
  for (auto& w : m.net->parameters()) params.push_back(w);
  int checked = 0;
  for (auto& t : params) {
    ASSERT_TRUE(t.grad().defined());
    torch::Tensor flat = t.detach().view({-1}), grad = t.grad().view({-1});
    for (int64_t k = 0; k < flat.numel(); k += 3) {
      const double h = 1e-6, orig = flat[k].item<double>();
      torch::NoGradGuard g;
      flat[k] = orig + h;
      double up = loss_fn().item<double>();
      flat[k] = orig - h;
      double down = loss_fn().item<double>();
      flat[k] = orig;
      double numeric = (up - down) / (2 * h);
      EXPECT_NEAR(grad[k].item<double>(), numeric, 1e-5 * std::max(1.0, std::fabs(numeric)));
      ++checked;
    }
  }
  EXPECT_GT(checked, 40);
}

}  // namespace
}  // namespace mfkit
