// The explicit-ALS kernel (compiled once per instruction set: kernels/dispatch.h).
#include "kernels/als_explicit.h"

#include <Eigen/Cholesky>
#include <Eigen/Dense>

#include <algorithm>

#include "kernels/dispatch.h"

namespace mfkit {

using RowMat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

namespace kern {

void als_half_sweep(const Csr& rows, const float* Y, const float* cb, const AlsSolveConfig& c, float* X, float* xb,
                    int threads) {
  const int k = c.k;
  const int d = c.biases ? k + 1 : k;  // unknowns: [b, x] or x
  const int32_t n = rows.rows();
#pragma omp parallel num_threads(threads)
  {
    RowMat G;                // gathered [1, Y[c]] rows
    Eigen::VectorXf t, rhs;  // targets
    Eigen::MatrixXf A(d, d);
    Eigen::LLT<Eigen::MatrixXf> llt(d);
#pragma omp for schedule(dynamic, 32)
    for (int32_t r = 0; r < n; ++r) {
      const int64_t begin = rows.indptr[r], cnt = rows.indptr[r + 1] - begin;
      float* x = X + static_cast<size_t>(r) * k;
      if (cnt == 0) {
        std::fill(x, x + k, 0.0f);
        xb[r] = 0.0f;
        continue;
      }
      G.resize(cnt, d);
      t.resize(cnt);
      for (int64_t e = 0; e < cnt; ++e) {
        const int32_t col = rows.indices[begin + e];
        float* g = G.row(e).data();
        if (c.biases) *g++ = 1.0f;
        std::copy_n(Y + static_cast<size_t>(col) * k, k, g);
        t[e] = rows.values[begin + e] - c.mu - (c.biases ? cb[col] : 0.0f);
      }
      const float scale = c.weighted ? static_cast<float>(cnt) : 1.0f;
      A.setZero();
      A.selfadjointView<Eigen::Lower>().rankUpdate(G.transpose());
      for (int j = 0; j < d; ++j) A(j, j) += scale * ((c.biases && j == 0) ? c.reg_bias : c.reg);
      rhs.noalias() = G.transpose() * t;
      llt.compute(A);
      Eigen::VectorXf sol = llt.solve(rhs);
      if (c.biases) {
        xb[r] = sol[0];
        std::copy_n(sol.data() + 1, k, x);
      } else {
        xb[r] = 0.0f;
        std::copy_n(sol.data(), k, x);
      }
    }
  }
}

}  // namespace kern

}  // namespace mfkit
