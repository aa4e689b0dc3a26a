#include <gtest/gtest.h>

#include <Eigen/Dense>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <string>

#include "kernels/als_implicit.h"
#include "mfkit/data.h"
#include "mfkit/error.h"
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

TEST(ImplicitHalfSweep, LongRowsTakeTheSameConjugateGradientSteps) {
  // A short row (gathered vectors reused from cache) and a long one (past 1 MiB of vectors at f = 64:
  // its normal equations are built instead), a few confidences below 1; two CG steps from a warm
  // start against the same two steps in double precision on the dense normal equations.
  const int f = 64, steps = 2;
  const int32_t ni = 6000;
  std::mt19937 rng(3);
  Csr c;
  c.indptr = {0};
  for (int32_t n : {100, 5000}) {
    std::vector<int32_t> items(ni);
    std::iota(items.begin(), items.end(), 0);
    std::shuffle(items.begin(), items.end(), rng);
    items.resize(n);
    std::sort(items.begin(), items.end());
    for (int32_t i : items) {
      c.indices.push_back(i);
      c.values.push_back(i % 17 == 0 ? 0.5f : 1.0f + static_cast<float>(rng() % 40) / 10.0f);
    }
    c.indptr.push_back(static_cast<int64_t>(c.indices.size()));
  }
  auto Y = random_factors(ni, f, 4), X = random_factors(2, f, 5), start = X;
  std::vector<float> G(f * f);
  gram(Y.data(), ni, f, 0.1f, G.data());
  implicit_half_sweep(c, Y.data(), G.data(), f, steps, X.data(), 1);
  for (int32_t u = 0; u < 2; ++u) {
    Eigen::MatrixXd A(f, f);
    Eigen::VectorXd b = Eigen::VectorXd::Zero(f), x(f);
    for (int i = 0; i < f * f; ++i) A(i / f, i % f) = G[i];
    for (int64_t e = c.indptr[u]; e < c.indptr[u + 1]; ++e) {
      Eigen::VectorXd y(f);
      for (int d = 0; d < f; ++d) y[d] = Y[static_cast<size_t>(c.indices[e]) * f + d];
      A += (c.values[e] - 1.0) * y * y.transpose();
      b += c.values[e] * y;
    }
    for (int d = 0; d < f; ++d) x[d] = start[u * f + d];
    Eigen::VectorXd r = b - A * x, p = r;
    for (int it = 0; it < steps; ++it) {
      Eigen::VectorXd ap = A * p;
      const double step = r.squaredNorm() / p.dot(ap), rs = r.squaredNorm();
      x += step * p;
      r -= step * ap;
      p = r + (r.squaredNorm() / rs) * p;
    }
    double err = 0;
    for (int d = 0; d < f; ++d) err = std::max(err, std::fabs(X[u * f + d] - x[d]));
    EXPECT_LT(err, 1e-3 * x.lpNorm<Eigen::Infinity>()) << "row of " << c.row_size(u) << " entries";
  }
}

TEST(ImplicitAls, AConfidenceThatIsNotPositiveIsRefused) {
  auto data = synthetic_ratings();
  auto m = create_model("implicit-als");
  m->set_params({{"factors", 4}, {"iterations", 1}, {"confidence", "implicit"}, {"alpha", 0.0}});
  FitOptions opt;
  opt.ctx = Context{2, 1};
  try {
    m->fit(data, opt);
    FAIL() << "a zero confidence was accepted";
  } catch (const ParamError& e) {
    EXPECT_NE(std::string(e.what()).find("confidence is not positive"), std::string::npos) << e.what();
  }
}

TEST(ImplicitAls, LossFallsAndFoldInAndExplainAgree) {
  auto data = synthetic_ratings();
  auto m = create_model("implicit-als");
  m->set_params({{"factors", 8}, {"iterations", 6}, {"solver", "cholesky"}, {"alpha", 2.0}, {"compute_loss", true}});
  std::vector<double> losses;
  m->fit(data, {Context{2, 1}, nullptr, [&](const EpochInfo& e) {
                  EXPECT_TRUE(e.has_train_loss);
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
