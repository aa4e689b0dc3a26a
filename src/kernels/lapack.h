// Internal: the LAPACK calls mfkit makes, through OpenBLAS (Debian's libopenblas, whose LAPACK
// routines are parallel), and its thread count.
#pragma once

#include <cstdint>

namespace mfkit {

/// OpenBLAS's own threads (Debian's is the pthread build). mfkit keeps it at one, so that it
/// never runs threads beside mfkit's OpenMP loops or libtorch's; a call that wants more sets
/// them for its duration with BlasThreads.
void set_blas_threads(int threads);

/// Sets OpenBLAS's threads for a scope, and back to one at its end (also on an exception).
class BlasThreads {
 public:
  explicit BlasThreads(int threads) { set_blas_threads(threads); }
  ~BlasThreads() { set_blas_threads(1); }
  BlasThreads(const BlasThreads&) = delete;
  BlasThreads& operator=(const BlasThreads&) = delete;
};

/// Overwrites the symmetric positive definite n x n matrix `a` (all of it) with its inverse,
/// by Cholesky (potrf, potri) on `threads` threads. False when `a` is not positive definite
/// (its contents are then undefined).
bool invert_spd(float* a, int32_t n, int threads);

}  // namespace mfkit
