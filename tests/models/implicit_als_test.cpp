#include <gtest/gtest.h>

#include <cmath>
#include <numeric>
#include <random>

#include "kernels/als_implicit.h"
#include "mfkit/data.h"
#include "mfkit/registry.h"
#include "test_util.h"

namespace mfkit {
namespace {

Csr small_conf(int32_t* n_items) {
  SyntheticSpec spec;
  spec.users = 50;
  spec.items = 40;
  spec.density = 0.2;
  auto m = synthetic_ratings(spec);
  *n_items = m.n_items();
  Csr c = m.by_user();
  for (float& v : c.values) v = 1.0f + 2.0f * v;  // confidences
  return c;
}

std::vector<float> random_factors(int32_t n, int f, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> g(0, 0.3f);
  std::vector<float> v(static_cast<size_t>(n) * f);
  for (auto& x : v) x = g(rng);
  return v;
}

TEST(ImplicitHalfSweep, CholeskyMatchesTheDenseReference) {
  int32_t ni;
  Csr c = small_conf(&ni);
  const int f = 6;
  auto Y = random_factors(ni, f, 1);
  std::vector<float> G(f * f), X(c.rows() * f, 0.0f);
  gram(Y.data(), ni, f, 0.5f, G.data());
  implicit_half_sweep(c, Y.data(), G.data(), f, 0, X.data(), 2);
  for (int32_t u = 0; u < c.rows(); ++u) {
    if (c.row_size(u) == 0) continue;
    auto ref = implicit_reference_row(c, u, Y.data(), ni, f, 0.5f);
    for (int d = 0; d < f; ++d) EXPECT_NEAR(X[u * f + d], ref[d], 2e-3) << "row " << u;
  }
}

TEST(ImplicitHalfSweep, ConjugateGradientConvergesToTheExactSolution) {
  int32_t ni;
  Csr c = small_conf(&ni);
  const int f = 6;
  auto Y = random_factors(ni, f, 2);
  std::vector<float> G(f * f), exact(c.rows() * f, 0.0f), cg(c.rows() * f, 0.0f), cg3(c.rows() * f, 0.0f);
  gram(Y.data(), ni, f, 0.5f, G.data());
  implicit_half_sweep(c, Y.data(), G.data(), f, 0, exact.data(), 1);
  implicit_half_sweep(c, Y.data(), G.data(), f, f, cg.data(), 1);   // f steps: exact in exact arithmetic
  implicit_half_sweep(c, Y.data(), G.data(), f, 1, cg3.data(), 1);  // one step: only an approximation
  double err_full = 0, err_one = 0;
  for (size_t k = 0; k < exact.size(); ++k) {
    err_full = std::max(err_full, double(std::fabs(cg[k] - exact[k])));
    err_one = std::max(err_one, double(std::fabs(cg3[k] - exact[k])));
  }
  EXPECT_LT(err_full, 2e-3);
  EXPECT_GT(err_one, err_full);
}

TEST(ImplicitAls, LossFallsAndFoldInAndExplainAgree) {
  auto data = synthetic_ratings();
  auto m = create_model("implicit-als");
  m->set_params({{"factors", 8}, {"iterations", 6}, {"solver", "cholesky"}, {"alpha", 2.0}});
  std::vector<double> losses;
  m->fit(data, {Context{2, 1}, nullptr, [&](const EpochInfo& e) {
                  losses.push_back(e.train_loss);
                  return true;
                }});
  ASSERT_EQ(losses.size(), 6u);
  for (size_t k = 1; k < losses.size(); ++k) EXPECT_LE(losses[k], losses[k - 1] + 1e-9);
  // Fold-in of user 3 from its own items; the explanation of item 0's score sums to that score.
  const Csr& s = data.by_user();
  std::vector<int32_t> items(s.indices.begin() + s.indptr[3], s.indices.begin() + s.indptr[4]);
  std::vector<float> values(s.values.begin() + s.indptr[3], s.values.begin() + s.indptr[4]);
  std::vector<float> scores(m->n_items());
  m->score_new_user(items, values, scores.data());
  auto parts = m->explain(3, 0, 100000);
  ASSERT_EQ(parts.size(), items.size());
  double sum = 0;
  for (auto& [i, c] : parts) sum += c;
  EXPECT_NEAR(sum, scores[0], 1e-3);
  EXPECT_GE(parts.front().second, parts.back().second);
}

}  // namespace
}  // namespace mfkit
