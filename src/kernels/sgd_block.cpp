// The hot half of kernels/sgd.h: the SGD update of one block (compiled once per instruction set,
// see kernels/dispatch.h).
#include <immintrin.h>

#include <algorithm>

#include "kernels/dispatch.h"
#include "kernels/simd.h"

namespace mfkit {

namespace {

// A register's worth of a row; R of them make one 64-byte line.
using V = SimdVec;
constexpr int R = 16 / kLanes;

// lr / sqrt(acc) for an AdaGrad step size by the hardware's reciprocal square root estimate
// (relative error below 1.5e-3, as LIBMF's step sizes): a few cycles instead of a square root
// and a division on the path from one rating to the next of the same user.
inline float rate(float lr, float acc) { return lr * _mm_cvtss_f32(_mm_rsqrt_ss(_mm_set_ss(acc))); }

// The lines of one row (NV + 1 of them), fetched ahead.
template <int NV>
inline void prefetch_row(const float* row, size_t stride) {
  const size_t lines = NV > 0 ? NV + 1 : stride / 16;
#pragma GCC unroll 9
  for (size_t l = 0; l < lines; ++l) __builtin_prefetch(row + 16 * l);
}

// N ratings of N different users and N different items, each: the error against
// mu + b_u + b_i + p.q, then p, q and the biases moved along their gradients at the old values
// (AdaGrad: each vector's own rate, accumulators grow by the mean squared gradient, as LIBMF).
// Written once for N at a time so that the N dependency chains (dot product, error, update)
// overlap instead of waiting on each other. NV: the row's width in vectors (0: read it from s).
template <int NV, int N>
inline double step(const Rating* const* x, SgdState& s, const SgdConfig& c) {
  const int nv = (NV > 0 ? NV : s.row.width / 16) * R;
  const size_t stride = static_cast<size_t>(s.row.stride);
  const int b = s.row.bias(), ga = s.row.acc(), gb = s.row.bias_acc();
  float* p[N];
  float* q[N];
  V* P[N];
  V* Q[N];
  float e[N];
  for (int n = 0; n < N; ++n) {
    p[n] = s.users + x[n]->u * stride;
    q[n] = s.items + x[n]->i * stride;
    P[n] = reinterpret_cast<V*>(p[n]);
    Q[n] = reinterpret_cast<V*>(q[n]);
  }
  for (int n = 0; n < N; ++n) {
    V d0 = P[n][0] * Q[n][0], d1{};
#pragma GCC unroll 32
    for (int v = 1; v < nv; ++v) {
      if (v % 2)
        d1 += P[n][v] * Q[n][v];
      else
        d0 += P[n][v] * Q[n][v];
    }
    e[n] = x[n]->r - ((s.mu + p[n][b] + q[n][b]) + hsum(d0 + d1));
  }
  const float lr = c.lr, reg = c.reg, rb = c.reg_bias;
  if (c.adaptive) {
    const float inv_k = 1.0f / static_cast<float>(s.row.k);
    for (int n = 0; n < N; ++n) {
      const float ep = rate(lr, p[n][ga]), eq = rate(lr, q[n][ga]);
      V gp2{}, gq2{};
#pragma GCC unroll 32
      for (int v = 0; v < nv; ++v) {
        const V pv = P[n][v], qv = Q[n][v];
        const V gp = reg * pv - e[n] * qv, gq = reg * qv - e[n] * pv;
        gp2 += gp * gp;
        gq2 += gq * gq;
        P[n][v] = pv - ep * gp;
        Q[n][v] = qv - eq * gq;
      }
      p[n][ga] += hsum(gp2) * inv_k;
      q[n][ga] += hsum(gq2) * inv_k;
      if (c.biases) {
        const float gbu = rb * p[n][b] - e[n], gbi = rb * q[n][b] - e[n];
        p[n][b] -= rate(lr, p[n][gb]) * gbu;
        q[n][b] -= rate(lr, q[n][gb]) * gbi;
        p[n][gb] += gbu * gbu;
        q[n][gb] += gbi * gbi;
      }
    }
  } else {
    for (int n = 0; n < N; ++n) {
#pragma GCC unroll 32
      for (int v = 0; v < nv; ++v) {
        const V pv = P[n][v], qv = Q[n][v];
        P[n][v] = pv + lr * (e[n] * qv - reg * pv);
        Q[n][v] = qv + lr * (e[n] * pv - reg * qv);
      }
      if (c.biases) {
        p[n][b] += lr * (e[n] - rb * p[n][b]);
        q[n][b] += lr * (e[n] - rb * q[n][b]);
      }
    }
  }
  double sse = 0;
  for (int n = 0; n < N; ++n) sse += static_cast<double>(e[n]) * e[n];
  return sse;
}

template <int NV>
double run_block(const Rating* begin, const Rating* end, SgdState& s, const SgdConfig& c) {
  // The block's entries are sorted by user: cut at user boundaries into kWays runs, which share
  // no user, and step through them side by side (when two current entries share an item, they
  // run one after the other). The rows a few entries ahead are fetched early: the item rows are
  // the block's random reads.
  constexpr int kWays = 4, kAhead = 4;
  const size_t stride = static_cast<size_t>(s.row.stride);
  const Rating* at[kWays];
  const Rating* stop[kWays];
  int ways = 0;
  const Rating* from = begin;
  for (int w = 1; w <= kWays; ++w) {
    const Rating* to = std::max(from, begin + (end - begin) * w / kWays);
    while (to != end && to != begin && to->u == (to - 1)->u) ++to;
    if (to != from) {
      at[ways] = from;
      stop[ways++] = to;
    }
    from = to;
  }
  double sse = 0;
  while (ways > 0) {
    bool distinct = true;
    for (int w = 0; w < ways; ++w) {
      const Rating* r = at[w];
      if (stop[w] - r > kAhead) {
        prefetch_row<NV>(s.items + r[kAhead].i * stride, stride);
        if (r[kAhead].u != r[kAhead - 1].u) prefetch_row<NV>(s.users + r[kAhead].u * stride, stride);
      }
      for (int o = 0; o < w; ++o) distinct &= at[o]->i != r->i;
    }
    if (!distinct) {
      for (int w = 0; w < ways; ++w) sse += step<NV, 1>(&at[w], s, c);
    } else if (ways == 4) {
      sse += step<NV, 4>(at, s, c);
    } else if (ways == 3) {
      sse += step<NV, 3>(at, s, c);
    } else if (ways == 2) {
      sse += step<NV, 2>(at, s, c);
    } else {
      sse += step<NV, 1>(at, s, c);
    }
    int left = 0;
    for (int w = 0; w < ways; ++w)
      if (++at[w] != stop[w]) {
        at[left] = at[w];
        stop[left++] = stop[w];
      }
    ways = left;
  }
  return sse;
}

}  // namespace

namespace kern {

double sgd_block(const Rating* begin, const Rating* end, SgdState& s, const SgdConfig& c) {
  switch (s.row.width / 16) {
    case 1:
      return run_block<1>(begin, end, s, c);
    case 2:
      return run_block<2>(begin, end, s, c);
    case 3:
      return run_block<3>(begin, end, s, c);
    case 4:
      return run_block<4>(begin, end, s, c);
    case 5:
      return run_block<5>(begin, end, s, c);
    case 6:
      return run_block<6>(begin, end, s, c);
    case 7:
      return run_block<7>(begin, end, s, c);
    case 8:
      return run_block<8>(begin, end, s, c);
    default:
      return run_block<0>(begin, end, s, c);
  }
}

}  // namespace kern

}  // namespace mfkit
