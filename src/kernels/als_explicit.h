// Internal: one half-sweep of explicit-feedback ALS with biases.
#pragma once

#include <cstdint>

#include "mfkit/interactions.h"

namespace mfkit {

struct AlsSolveConfig {
  int k = 0;
  float mu = 0;
  float reg = 0.05f;
  float reg_bias = 0.05f;
  bool weighted = true;  // reg times the row's count (ALS-WR)
  bool biases = true;
};

/// For every row r of `rows` (CSR: row -> columns, values), solves the ridge problem
///   min_{b,x} sum_{c in r} (v - mu - cb[c] - b - x·Y[c])^2 + lam_b b^2 + lam |x|^2
/// exactly (Cholesky of a (k+1)x(k+1) system) and writes X[r], xb[r]. Y/cb are the other side's
/// factors and biases. Rows without entries get zeros. OpenMP over rows, dynamic chunks.
void als_half_sweep(const Csr& rows, const float* Y, const float* cb, const AlsSolveConfig& c, float* X, float* xb,
                    int threads);

}  // namespace mfkit
