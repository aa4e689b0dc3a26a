// Internal: 16-float vectors (GCC vector extensions: one AVX-512 register, or two AVX ones) and
// the sums the kernels take of them.
#pragma once

#include <cstring>

namespace mfkit {

typedef float V16 __attribute__((vector_size(64), may_alias));
typedef float V8 __attribute__((vector_size(32)));
typedef float V4 __attribute__((vector_size(16)));

/// The sum of a vector's lanes as a tree. The compiler's reduction of an `omp simd` loop adds the
/// 16 lanes one after the other: a chain of 16 dependent additions after every dot product.
inline float hsum(V16 x) {
  V8 a = __builtin_shufflevector(x, x, 0, 1, 2, 3, 4, 5, 6, 7) +
         __builtin_shufflevector(x, x, 8, 9, 10, 11, 12, 13, 14, 15);
  V4 b = __builtin_shufflevector(a, a, 0, 1, 2, 3) + __builtin_shufflevector(a, a, 4, 5, 6, 7);
  V4 c = b + __builtin_shufflevector(b, b, 2, 3, 0, 1);
  return c[0] + c[1];
}

/// Starts fetching the cache lines of `n` floats at p (a row gathered a few entries later: the
/// rows of a large factor matrix are far apart, and the hardware does not guess the next one).
inline void prefetch_floats(const float* p, int n) {
  for (int k = 0; k < n; k += 16) __builtin_prefetch(p + k);
}

/// 16 floats from any address.
inline V16 load16(const float* p) {
  V16 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

/// a . b over n floats at any alignment.
inline float dot(const float* a, const float* b, int n) {
  V16 s0{}, s1{};
  int d = 0;
  for (; d + 32 <= n; d += 32) {
    s0 += load16(a + d) * load16(b + d);
    s1 += load16(a + d + 16) * load16(b + d + 16);
  }
  if (d + 16 <= n) {
    s0 += load16(a + d) * load16(b + d);
    d += 16;
  }
  float s = hsum(s0 + s1);
  for (; d < n; ++d) s += a[d] * b[d];
  return s;
}

}  // namespace mfkit
