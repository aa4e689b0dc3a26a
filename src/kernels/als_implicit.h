// Internal: implicit-feedback ALS half-sweeps (Hu-Koren-Volinsky), exact and conjugate-gradient,
// and a slow dense reference used by the tests.
#pragma once

#include <cstdint>
#include <vector>

#include "mfkit/interactions.h"

namespace mfkit {

/// G = Y^T Y + reg I for Y (n x f, row-major); G is f x f row-major. Single GEMM (Eigen).
void gram(const float* Y, int32_t n, int f, float reg, float* G);

/// Solves every row of X (rows given by `m`: CSR row -> columns, with confidences c > 0 in
/// `conf`, one per entry of m; preference 1 on those entries, 0 elsewhere) against the fixed
/// factors Y with Gram matrix G. cg_steps > 0: that many CG steps warm-started from X's current
/// rows; 0: exact Cholesky. OpenMP over rows (dynamic chunks), single-threaded kernels inside.
void implicit_half_sweep(const Csr& m, const float* conf, const float* Y, const float* G, int f, int cg_steps, float* X,
                         int threads);
/// The same with the confidences as the CSR's values.
inline void implicit_half_sweep(const Csr& conf, const float* Y, const float* G, int f, int cg_steps, float* X,
                                int threads) {
  implicit_half_sweep(conf, conf.values.data(), Y, G, f, cg_steps, X, threads);
}

/// The objective of the current factors, divided by the number of cells (as `implicit` reports);
/// `by_user`'s entries have confidences `conf`.
double implicit_loss(const Csr& by_user, const float* conf, const float* X, int32_t n_users, const float* Y,
                     int32_t n_items, int f, float reg, int threads);

/// Slow reference: x = (Y^T C Y + reg I)^-1 Y^T C p for one row, with Y^T C Y built densely
/// over all items (c = 1 where the row has no entry). For tests only.
std::vector<double> implicit_reference_row(const Csr& conf, int32_t row, const float* Y, int32_t n_items, int f,
                                           float reg);

}  // namespace mfkit
