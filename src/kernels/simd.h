// Internal: vectors of the instruction set a file is compiled for (GCC vector extensions: one
// register each) and the sums the kernels take of them. The kernels are compiled once per
// instruction set (kernels/dispatch.h), so `SimdVec` is 16 floats in the AVX-512 library, 8 in the
// AVX2 one and 4 in the baseline: a wider type than the registers would be split by the compiler
// into pieces that pass through the stack.
#pragma once

#include <cstring>

namespace mfkit {

typedef float V16 __attribute__((vector_size(64), may_alias));
typedef float V8 __attribute__((vector_size(32), may_alias));
typedef float V4 __attribute__((vector_size(16), may_alias));

#if defined(__AVX512F__)
using SimdVec = V16;
#elif defined(__AVX__)
using SimdVec = V8;
#else
using SimdVec = V4;
#endif
/// Floats in a SimdVec.
constexpr int kLanes = sizeof(SimdVec) / sizeof(float);

/// The sum of a vector's lanes as a tree. The compiler's reduction of an `omp simd` loop adds the
/// 16 lanes one after the other: a chain of 16 dependent additions after every dot product.
inline float hsum(V4 b) {
  V4 c = b + __builtin_shufflevector(b, b, 2, 3, 0, 1);
  return c[0] + c[1];
}
inline float hsum(V8 a) {
  return hsum(V4(__builtin_shufflevector(a, a, 0, 1, 2, 3) + __builtin_shufflevector(a, a, 4, 5, 6, 7)));
}
inline float hsum(V16 x) {
  return hsum(V8(__builtin_shufflevector(x, x, 0, 1, 2, 3, 4, 5, 6, 7) +
                 __builtin_shufflevector(x, x, 8, 9, 10, 11, 12, 13, 14, 15)));
}

/// Starts fetching the cache lines of `n` floats at p (a row gathered a few entries later: the
/// rows of a large factor matrix are far apart, and the hardware does not guess the next one).
inline void prefetch_floats(const float* p, int n) {
  for (int k = 0; k < n; k += 16) __builtin_prefetch(p + k);
}

/// A SimdVec from any address.
inline SimdVec load(const float* p) {
  SimdVec v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

/// a . b over n floats at any alignment.
inline float dot(const float* a, const float* b, int n) {
  constexpr int L = kLanes;
  SimdVec s0{}, s1{};
  int d = 0;
  for (; d + 2 * L <= n; d += 2 * L) {
    s0 += load(a + d) * load(b + d);
    s1 += load(a + d + L) * load(b + d + L);
  }
  if (d + L <= n) {
    s0 += load(a + d) * load(b + d);
    d += L;
  }
  float s = hsum(s0 + s1);
  for (; d < n; ++d) s += a[d] * b[d];
  return s;
}

}  // namespace mfkit
