#include "kernels/lapack.h"

#include <dlfcn.h>

#include <cstddef>

// LAPACK's Fortran interface (the hidden length of each character argument last, as gfortran
// passes it).
extern "C" {
void spotrf_(const char* uplo, const int* n, float* a, const int* lda, int* info, size_t uplo_len);
void spotri_(const char* uplo, const int* n, float* a, const int* lda, int* info, size_t uplo_len);
}

namespace mfkit {

void set_blas_threads(int threads) {
  // Looked up, not linked by name: another BLAS in its place (the reference one, say) has no
  // such call and runs one thread anyway.
  using SetThreads = void (*)(int);
  static auto set = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
  if (set) set(threads);
}

bool invert_spd(float* a, int32_t n, int threads) {
  BlasThreads scope(threads);
  // Row-major `a` read as column-major is its transpose, the same symmetric matrix; LAPACK's
  // lower triangle is then the row-major upper one.
  const int nn = n;
  int info = 0;
  spotrf_("L", &nn, a, &nn, &info, 1);
  if (info != 0) return false;
  spotri_("L", &nn, a, &nn, &info, 1);
  if (info != 0) return false;
#pragma omp parallel for schedule(dynamic, 64) num_threads(threads)
  for (int32_t r = 1; r < n; ++r)  // mirror the upper triangle (row-major) into the lower
    for (int32_t c = 0; c < r; ++c) a[static_cast<size_t>(r) * n + c] = a[static_cast<size_t>(c) * n + r];
  return true;
}

}  // namespace mfkit
