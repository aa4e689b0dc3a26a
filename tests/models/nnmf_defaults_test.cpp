// NNMF's defaults on data they were not chosen on: generated matrices with other sizes,
// densities and rating scales, where the default must not do worse than predicting each item's
// mean; the warm start, which makes the untrained member predict exactly what biased MF
// predicts; and divergence, which throws instead of returning a model.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "mfkit/data.h"
#include "mfkit/error.h"
#include "mfkit/evaluate.h"
#include "mfkit/model_file.h"
#include "mfkit/registry.h"
#include "mfkit/split.h"
#include "test_util.h"

namespace mfkit {
namespace {

// The synthetic 1..5 matrix mapped to another scale: lo + (r - 1) * (hi - lo) / 4, rounded to
// `step` (0: continuous).
Interactions rescaled(const SyntheticSpec& spec, double lo, double hi, double step) {
  Interactions m = synthetic_ratings(spec);
  Coo c = m.to_coo();
  for (float& v : c.values) {
    double x = lo + (v - 1) * (hi - lo) / 4;
    if (step > 0) x = std::round(x / step) * step;
    v = static_cast<float>(x);
  }
  return Interactions::from_coo(c, m.user_ids(), m.item_ids());
}

// Each test item's training mean (the global mean for an item without training ratings).
double item_mean_rmse(const Interactions& train, const Interactions& test) {
  const Csr& by_item = train.by_item();
  const double global = train.mean_value();
  Coo c = test.to_coo();
  double s = 0;
  for (size_t k = 0; k < c.size(); ++k) {
    const int32_t i = c.items[k];
    double sum = 0;
    for (int64_t e = by_item.indptr[i]; e < by_item.indptr[i + 1]; ++e) sum += by_item.values[e];
    const int64_t n = by_item.row_size(i);
    const double pred = n > 0 ? sum / n : global;
    s += (pred - c.values[k]) * (pred - c.values[k]);
  }
  return std::sqrt(s / c.size());
}

struct Case {
  const char* name;
  int32_t users, items;
  double density, lo, hi, step;
};

class NnmfCarriesOver : public ::testing::TestWithParam<Case> {};

TEST_P(NnmfCarriesOver, DefaultIsNoWorseThanItemMeans) {
  const Case& k = GetParam();
  SyntheticSpec spec;
  spec.users = k.users;
  spec.items = k.items;
  spec.density = k.density;
  spec.seed = 11;
  Split s = random_split(rescaled(spec, k.lo, k.hi, k.step), 0.9, 1);
  auto m = create_model("nnmf");  // every default
  m->fit(s.train, {Context{2, 1}, nullptr, nullptr});
  const double model = evaluate_rating(*m, s.test)["rmse"].get<double>(), baseline = item_mean_rmse(s.train, s.test);
  EXPECT_TRUE(std::isfinite(model));
  EXPECT_LE(model, baseline) << k.name << ": nnmf " << model << " against item means " << baseline;
}

INSTANTIATE_TEST_SUITE_P(ScalesAndDensities, NnmfCarriesOver,
                         ::testing::Values(Case{"stars", 300, 200, 0.1, 1, 5, 1},
                                           Case{"halves", 150, 400, 0.05, 0.5, 4, 0.5},
                                           Case{"jester", 400, 60, 0.4, -10, 10, 0},
                                           Case{"sparse", 800, 500, 0.01, 1, 5, 1},
                                           Case{"hundred", 200, 150, 0.2, 0, 100, 1}),
                         [](const auto& info) { return std::string(info.param.name); });

class NnmfWarmStart : public ::testing::TestWithParam<std::tuple<bool, bool>> {};

TEST_P(NnmfWarmStart, StartsFromBiasedMfPredictions) {
  const auto [biases, standardize] = GetParam();
  const Interactions data = synthetic_ratings();
  // A step too small to move anything in one epoch: the member is its warm start.
  auto nnmf = create_model("nnmf");
  nnmf->set_params({{"d_prime", 16},
                    {"warm_reg", 0.05},
                    {"patience", 0},
                    {"epochs", 1},
                    {"learning_rate", 1e-7},
                    {"biases", biases},
                    {"standardize", standardize},
                    {"blend", "none"}});
  nnmf->fit(data, {Context{1, 5}, nullptr, nullptr});
  auto bmf = create_model("biased-mf");
  bmf->set_params({{"factors", 16}, {"reg", 0.05}, {"epochs", 20}, {"patience", 0}, {"biases", biases}});
  bmf->fit(data, {Context{1, 5}, nullptr, nullptr});
  std::vector<int32_t> u, i;
  for (int32_t a = 0; a < 50; ++a)
    for (int32_t b = 0; b < 40; ++b) u.push_back(a), i.push_back(b);
  std::vector<float> x(u.size()), y(u.size());
  nnmf->predict(u.data(), i.data(), u.size(), x.data());
  bmf->predict(u.data(), i.data(), u.size(), y.data());
  double worst = 0;
  for (size_t k = 0; k < x.size(); ++k) worst = std::max(worst, static_cast<double>(std::fabs(x[k] - y[k])));
  EXPECT_LT(worst, 2e-3);
}

INSTANTIATE_TEST_SUITE_P(BiasesAndScaling, NnmfWarmStart, ::testing::Combine(::testing::Bool(), ::testing::Bool()));

TEST(NnmfWarm, DivergenceThrowsInsteadOfReturningAModel) {
  const Interactions data = synthetic_ratings();
  auto m = create_model("nnmf");
  m->set_params({{"d_prime", 16}, {"learning_rate", 5.0}, {"epochs", 20}, {"patience", 20}, {"valid_fraction", 0.1}});
  EXPECT_THROW(m->fit(data, {Context{1, 5}, nullptr, nullptr}), DivergedError);
  EXPECT_FALSE(m->fitted());
}

TEST(NnmfWarm, LambdaMinusOneNeedsTheWarmStart) {
  auto m = create_model("nnmf");
  EXPECT_THROW(m->set_params({{"warm_start", "none"}}), ParamError);
  EXPECT_NO_THROW(m->set_params({{"warm_start", "none"}, {"lambda", 40.0}}));
  EXPECT_THROW(m->set_params({{"warm_start", "biased-mf"}, {"k", 2}}), ParamError);
}

// blend=biased-mf: the weight is the least-squares one on the validation part, so there the
// blend is no worse than the network or biased MF alone (w = 1 or 0 were among the choices); a
// network that cannot learn (no steps) gets almost no weight; the blend survives save and load.
TEST(NnmfBlend, WeightIsChosenOnValidationAndTheFileKeepsIt) {
  const Interactions data = synthetic_ratings();
  const auto parts = carve_validation(data, 0.15, 3);
  const Interactions &train = parts.first, &valid = parts.second;
  auto fit = [&](nlohmann::json p) {
    auto m = create_model("nnmf");
    m->set_params(p);
    m->fit(train, {Context{2, 5}, &valid, nullptr});
    return m;
  };
  const nlohmann::json net = {{"warm_start", "none"}, {"lambda", 0.05}, {"d_prime", 16},
                              {"epochs", 30},         {"patience", 5},  {"blend", "none"}};
  nlohmann::json with = net;
  with["blend"] = "biased-mf";
  with["blend_factors"] = 16;
  auto alone = fit(net), blended = fit(with);
  auto rmse = [&](const Model& m) { return evaluate_rating(m, valid)["rmse"].get<double>(); };
  const nlohmann::json chosen = blended->chosen();
  const float w = chosen["blend"]["network_weight"].get<float>();
  EXPECT_GE(w, 0.0f);
  EXPECT_LE(w, 1.0f);
  auto bmf = create_model("biased-mf");
  bmf->set_params(
      {{"factors", 16}, {"reg", chosen["blend"]["biased_mf_reg"].get<double>()}, {"epochs", 100}, {"patience", 3}});
  bmf->fit(train, {Context{1, 5}, &valid, nullptr});
  EXPECT_LE(rmse(*blended), rmse(*alone) + 1e-4);
  EXPECT_LE(rmse(*blended), rmse(*bmf) + 2e-3);  // the partner is this biased MF, fitted on 2 threads

  test::TempDir d;
  save_model(*blended, d.path("b.mfk"));
  auto back = load_model(d.path("b.mfk"));
  EXPECT_DOUBLE_EQ(rmse(*back), rmse(*blended));

  nlohmann::json useless = with;
  useless.update({{"learning_rate", 1e-7}, {"epochs", 1}, {"patience", 0}});
  EXPECT_LT(fit(useless)->chosen()["blend"]["network_weight"].get<float>(), 0.1f);
}

// blend=biased-mf+autorec: the three weights are non-negative and sum to 1, the blend on the
// validation part is no worse than any of its members there (each alone was a choice), and the
// file keeps all of it, fold-in included.
TEST(NnmfBlend, ThreeMembersMixConvexlyAndTheFileKeepsThem) {
  const Interactions data = synthetic_ratings();
  auto [train, valid] = carve_validation(data, 0.15, 3);
  auto m = create_model("nnmf");
  m->set_params({{"warm_start", "none"},
                 {"lambda", 0.05},
                 {"d_prime", 16},
                 {"epochs", 20},
                 {"patience", 5},
                 {"blend", "biased-mf+autorec"},
                 {"blend_factors", 16},
                 {"autorec_hidden", 32}});
  m->fit(train, {Context{2, 5}, &valid, nullptr});
  const nlohmann::json b = m->chosen()["blend"];
  const double w[] = {b["network_weight"].get<double>(), b["biased-mf_weight"].get<double>(),
                      b["autorec_weight"].get<double>()};
  for (double x : w) EXPECT_GE(x, 0.0);
  EXPECT_NEAR(w[0] + w[1] + w[2], 1.0, 1e-5);
  const double blended = evaluate_rating(*m, valid)["rmse"].get<double>();
  for (const char* member : {"network_valid_rmse", "biased-mf_valid_rmse", "autorec_valid_rmse"})
    EXPECT_LE(blended, b[member].get<double>() + 1e-4) << member;
  // I-AutoRec learns something: well below predicting the training mean.
  EXPECT_LT(b["autorec_valid_rmse"].get<double>(), 0.95 * item_mean_rmse(train, valid));

  test::TempDir d;
  save_model(*m, d.path("b.mfk"));
  auto back = load_model(d.path("b.mfk"));
  EXPECT_DOUBLE_EQ(evaluate_rating(*back, valid)["rmse"].get<double>(), blended);
  const std::vector<int32_t> items = {0, 1, 2, 3};
  const std::vector<float> values = {5, 4, 1, 2};
  std::vector<float> a(train.n_items()), c(train.n_items());
  m->score_new_user(items, values, a.data());
  back->score_new_user(items, values, c.data());
  EXPECT_EQ(a, c);
}

// A matrix past I-AutoRec's dense step (20,000 x 20,000 cells, 3 ratings per user): the default
// fits without it, says so, and still blends biased MF.
TEST(NnmfBlend, LeavesAutoRecOutOfAMatrixTooLargeForItAndSaysSo) {
  const int32_t n = 20000;
  Coo c;
  for (int32_t u = 0; u < n; ++u)
    for (int32_t j = 0; j < 3; ++j) {
      const int32_t i = (u * 7 + j * 4999) % n;
      c.users.push_back(u), c.items.push_back(i), c.values.push_back(static_cast<float>(1 + (u + i) % 5));
    }
  std::vector<std::string> names(n);
  for (int32_t k = 0; k < n; ++k) names[k] = std::to_string(k);
  const Interactions data = Interactions::from_coo(c, IdMap::from_names(names), IdMap::from_names(names));
  auto m = create_model("nnmf");
  m->set_params({{"epochs", 2}, {"d_prime", 8}, {"blend_factors", 8}});
  m->fit(data, {Context{2, 5}, nullptr, nullptr});
  const nlohmann::json b = m->chosen()["blend"];
  ASSERT_TRUE(b.contains("skipped"));
  EXPECT_NE(b["skipped"].get<std::string>().find("autorec"), std::string::npos);
  EXPECT_FALSE(b.contains("autorec_weight"));
  EXPECT_TRUE(b.contains("biased-mf_weight"));
}

// Without a validation part the weights cannot be chosen: the network alone, said so.
TEST(NnmfBlend, WithoutAValidationPartTheNetworkIsAloneAndSaysSo) {
  auto m = create_model("nnmf");
  m->set_params({{"epochs", 2},
                 {"d_prime", 8},
                 {"valid_fraction", 0.0},
                 {"patience", 0},
                 {"warm_start", "none"},
                 {"lambda", 0.05}});
  m->fit(synthetic_ratings(), {Context{1, 5}, nullptr, nullptr});
  const nlohmann::json b = m->chosen()["blend"];
  EXPECT_NE(b["skipped"].get<std::string>().find("no validation part"), std::string::npos);
  EXPECT_EQ(b["network_weight"].get<double>(), 1.0);
}

}  // namespace
}  // namespace mfkit
