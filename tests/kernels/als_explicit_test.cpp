// The fast half-sweep against a slow reference: the normal equations solved densely, row by row.
#include "kernels/als_explicit.h"

#include <gtest/gtest.h>

#include <Eigen/Dense>
#include <random>

#include "mfkit/data.h"

namespace mfkit {
namespace {

TEST(AlsHalfSweep, MatchesADenseReferenceSolve) {
  SyntheticSpec spec;
  spec.users = 60;
  spec.items = 40;
  spec.density = 0.3;
  auto m = synthetic_ratings(spec);
  const int k = 5;
  std::mt19937 rng(1);
  std::normal_distribution<float> g(0, 0.3f);
  std::vector<float> Y(m.n_items() * k), cb(m.n_items()), X(m.n_users() * k), xb(m.n_users());
  for (auto& v : Y) v = g(rng);
  for (auto& v : cb) v = g(rng);
  AlsSolveConfig c;
  c.k = k;
  c.mu = 3.5f;
  c.reg = 0.1f;
  c.reg_bias = 0.05f;
  als_half_sweep(m.by_user(), Y.data(), cb.data(), c, X.data(), xb.data(), 2);
  const Csr& r = m.by_user();
  for (int32_t u = 0; u < m.n_users(); ++u) {
    int64_t n = r.row_size(u);
    if (n == 0) continue;
    Eigen::MatrixXd A = Eigen::MatrixXd::Zero(k + 1, k + 1);
    Eigen::VectorXd b = Eigen::VectorXd::Zero(k + 1);
    for (int64_t e = r.indptr[u]; e < r.indptr[u + 1]; ++e) {
      Eigen::VectorXd y(k + 1);
      y[0] = 1;
      for (int d = 0; d < k; ++d) y[d + 1] = Y[r.indices[e] * k + d];
      A += y * y.transpose();
      b += y * (r.values[e] - c.mu - cb[r.indices[e]]);
    }
    A(0, 0) += n * c.reg_bias;
    for (int d = 1; d <= k; ++d) A(d, d) += n * c.reg;
    Eigen::VectorXd x = A.ldlt().solve(b);
    EXPECT_NEAR(xb[u], x[0], 1e-3);
    for (int d = 0; d < k; ++d) EXPECT_NEAR(X[u * k + d], x[d + 1], 1e-3);
  }
}

}  // namespace
}  // namespace mfkit
