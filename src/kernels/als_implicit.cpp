// The implicit-ALS kernels (compiled once per instruction set: kernels/dispatch.h).
#include "kernels/als_implicit.h"

#include <Eigen/Cholesky>
#include <Eigen/Dense>

#include <algorithm>
#include <cmath>

#include "kernels/dispatch.h"
#include "kernels/simd.h"

namespace mfkit {

using RowMat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using Vec = Eigen::VectorXf;

namespace kern {

void gram(const float* Y, int32_t n, int f, float reg, float* G) {
  Eigen::Map<const RowMat> Ym(Y, n, f);
  Eigen::Map<RowMat> Gm(G, f, f);
  Gm.setZero();
  Gm.selfadjointView<Eigen::Lower>().rankUpdate(Ym.transpose());
  Gm.triangularView<Eigen::StrictlyUpper>() = Gm.transpose();
  Gm.diagonal().array() += reg;
}

}  // namespace kern

namespace {

// Past this many bytes of gathered rows a CG row builds its normal equations instead (about the
// size of a core's L2).
constexpr size_t kGatherLimit = size_t(1) << 20;
// Rows fetched this many entries ahead of their use in a pass that reads them from memory (the
// first pass over a row's items; later CG steps find a short row's vectors in cache).
constexpr int64_t kAhead = 8;

inline void axpy(float a, const float* __restrict x, float* __restrict y, int f) {
#pragma omp simd
  for (int d = 0; d < f; ++d) y[d] += a * x[d];
}

// out = G p + sum_i (c_i - 1)(y_i . p) y_i
inline void apply_a(const Eigen::Map<const RowMat>& Gm, const float* Y, const int32_t* idx, const float* c, int64_t n,
                    int f, const Vec& p, Vec& out) {
  out.noalias() = Gm * p;
  for (int64_t e = 0; e < n; ++e) {
    const float* y = Y + static_cast<size_t>(idx[e]) * f;
    axpy((c[e] - 1.0f) * dot(y, p.data(), f), y, out.data(), f);
  }
}

// The normal equations of one row: A = G + sum_e (c_e - 1) y_e y_e^T (lower triangle) and
// b = sum_e c_e y_e, the rows y_e gathered (scaled by sqrt(c_e - 1)) into S a chunk at a time
// so that each chunk is one rank update: GEMM speed, and one pass over the rows.
void normal_equations(const Eigen::Map<const RowMat>& Gm, const float* Y, const int32_t* idx, const float* c, int64_t n,
                      int f, RowMat& S, Eigen::MatrixXf& A, Vec& b) {
  constexpr int64_t kChunk = 1024;
  A = Gm;
  b.setZero();
  for (int64_t at = 0; at < n; at += kChunk) {
    const int64_t m = std::min(kChunk, n - at);
    S.resize(m, f);
    for (int64_t e = 0; e < m; ++e) {
      if (at + e + kAhead < n) prefetch_floats(Y + static_cast<size_t>(idx[at + e + kAhead]) * f, f);
      const float* y = Y + static_cast<size_t>(idx[at + e]) * f;
      const float w = std::sqrt(std::max(c[at + e] - 1.0f, 0.0f));
      for (int d = 0; d < f; ++d) S(e, d) = w * y[d];
      axpy(c[at + e], y, b.data(), f);
    }
    A.selfadjointView<Eigen::Lower>().rankUpdate(S.transpose());
  }
  // Entries with c < 1 (the "implicit" scheme with small alpha*r) lower the diagonal blocks.
  for (int64_t e = 0; e < n; ++e)
    if (c[e] < 1.0f) {
      Eigen::Map<const Vec> y(Y + static_cast<size_t>(idx[e]) * f, f);
      A.selfadjointView<Eigen::Lower>().rankUpdate(y, c[e] - 1.0f);
    }
}

}  // namespace

namespace kern {

void implicit_half_sweep(const Csr& m, const float* conf, const float* Y, const float* G, int f, int cg_steps, float* X,
                         int threads) {
  const int32_t rows = m.rows();
  Eigen::Map<const RowMat> Gm(G, f, f);
#pragma omp parallel num_threads(threads)
  {
    Vec x(f), r(f), p(f), ap(f), b(f);
    RowMat S;
    Eigen::MatrixXf A(f, f);
    Eigen::LLT<Eigen::MatrixXf> llt(f);
#pragma omp for schedule(dynamic, 64)
    for (int32_t u = 0; u < rows; ++u) {
      const int64_t begin = m.indptr[u], n = m.indptr[u + 1] - begin;
      const int32_t* idx = m.indices.data() + begin;
      const float* c = conf + begin;
      float* xu = X + static_cast<size_t>(u) * f;
      if (n == 0) {
        std::fill(xu, xu + f, 0.0f);
        continue;
      }
      if (cg_steps <= 0) {
        // Exact: Cholesky on the normal equations.
        normal_equations(Gm, Y, idx, c, n, f, S, A, b);
        llt.compute(A);
        Eigen::Map<Vec>(xu, f) = llt.solve(b);
        continue;
      }
      // Conjugate gradient on A x = b, warm-started from the current row (implicit's algorithm).
      // A long row's gathered vectors would not stay in cache from one step to the next, so each
      // step would fetch them all again from memory: one pass builds its A instead, and the same
      // steps run on it (the same iterates, up to rounding).
      const bool long_row = static_cast<size_t>(n) * f * sizeof(float) > kGatherLimit;
      x = Eigen::Map<const Vec>(xu, f);
      if (long_row) {
        normal_equations(Gm, Y, idx, c, n, f, S, A, b);
        r.noalias() = b - A.selfadjointView<Eigen::Lower>() * x;
      } else {
        r.noalias() = -(Gm * x);
        for (int64_t e = 0; e < n; ++e) {
          if (e + kAhead < n) prefetch_floats(Y + static_cast<size_t>(idx[e + kAhead]) * f, f);
          const float* y = Y + static_cast<size_t>(idx[e]) * f;
          axpy(c[e] - (c[e] - 1.0f) * dot(y, x.data(), f), y, r.data(), f);
        }
      }
      p = r;
      float rs_old = r.squaredNorm();
      for (int it = 0; it < cg_steps && rs_old > 1e-20f; ++it) {
        if (long_row) {
          ap.noalias() = A.selfadjointView<Eigen::Lower>() * p;
        } else {
          apply_a(Gm, Y, idx, c, n, f, p, ap);
        }
        const float step = rs_old / p.dot(ap);
        x.noalias() += step * p;
        r.noalias() -= step * ap;
        const float rs_new = r.squaredNorm();
        p = r + (rs_new / rs_old) * p;
        rs_old = rs_new;
      }
      Eigen::Map<Vec>(xu, f) = x;
    }
  }
}

double implicit_loss(const Csr& by_user, const float* conf, const float* X, int32_t n_users, const float* Y,
                     int32_t n_items, int f, float reg, int threads) {
  // sum over all cells of c (p - s)^2 = sum_u [x^T (Y^T Y) x + sum_i (c-1) s^2 - 2 sum_i c s + sum_i c]
  std::vector<float> G(static_cast<size_t>(f) * f);
  gram(Y, n_items, f, 0.0f, G.data());
  Eigen::Map<const RowMat> Gm(G.data(), f, f);
  double loss = 0, total_conf = 0, xnorm = 0;
#pragma omp parallel for schedule(dynamic, 64) num_threads(threads) reduction(+ : loss, total_conf, xnorm)
  for (int32_t u = 0; u < n_users; ++u) {
    Eigen::Map<const Vec> x(X + static_cast<size_t>(u) * f, f);
    double l = x.dot(Gm * x);
    for (int64_t e = by_user.indptr[u]; e < by_user.indptr[u + 1]; ++e) {
      if (e + kAhead < by_user.indptr[u + 1])
        prefetch_floats(Y + static_cast<size_t>(by_user.indices[e + kAhead]) * f, f);
      const float c = conf[e];
      const float s = dot(Y + static_cast<size_t>(by_user.indices[e]) * f, x.data(), f);
      l += (c - 1.0) * s * s - 2.0 * c * s + c;
      total_conf += c - 1.0;
    }
    loss += l;
    xnorm += x.squaredNorm();
  }
  Eigen::Map<const RowMat> Ym(Y, n_items, f);
  loss += reg * (xnorm + Ym.squaredNorm());
  return loss / (static_cast<double>(n_users) * n_items + total_conf);
}

}  // namespace kern

std::vector<double> implicit_reference_row(const Csr& conf, int32_t row, const float* Y, int32_t n_items, int f,
                                           float reg) {
  std::vector<double> c(n_items, 1.0), p(n_items, 0.0);
  for (int64_t e = conf.indptr[row]; e < conf.indptr[row + 1]; ++e) {
    c[conf.indices[e]] = conf.values[e];
    p[conf.indices[e]] = 1.0;
  }
  Eigen::MatrixXd A = Eigen::MatrixXd::Identity(f, f) * reg;
  Eigen::VectorXd b = Eigen::VectorXd::Zero(f);
  for (int32_t i = 0; i < n_items; ++i) {
    Eigen::VectorXd y(f);
    for (int d = 0; d < f; ++d) y[d] = Y[static_cast<size_t>(i) * f + d];
    A += c[i] * y * y.transpose();
    b += c[i] * p[i] * y;
  }
  Eigen::VectorXd x = A.ldlt().solve(b);
  return std::vector<double>(x.data(), x.data() + f);
}

}  // namespace mfkit
