// bpr's update rules and its Hogwild epoch (the epoch is compiled once per instruction set:
// kernels/dispatch.h).
#include "models/bpr/bpr_step.h"

#include <omp.h>

#include <algorithm>
#include <cmath>

#include "kernels/dispatch.h"

namespace mfkit {

// A uniform integer in [0, n), n < 2^32, by Lemire's multiply-shift (no division).
static inline uint64_t below(std::mt19937_64& rng, uint64_t n) {
  return n <= 0xFFFFFFFFULL ? ((rng() >> 32) * n) >> 32 : rng() % n;
}

int32_t NegativeSampler::draw(std::mt19937_64& rng, const int32_t* row, int64_t row_len) const {
  int32_t j = 0;
  for (int t = 0; t < 10; ++t) {
    j = c_.popularity ? m_.indices[below(rng, m_.indices.size())] : static_cast<int32_t>(below(rng, n_));
    if (!c_.verify || !std::binary_search(row, row + row_len, j)) break;
  }
  return j;
}

static float dot(const float* a, const float* b, int f) {
  float s = 0;
#pragma omp simd reduction(+ : s)
  for (int k = 0; k < f; ++k) s += a[k] * b[k];
  return s;
}

// The bpr step's weight for the pair (i, j): the score gap is b_i - b_j + x.(y_i - y_j), in one
// pass over the three vectors.
static PairStep bpr_pair(const float* x, int32_t i, int32_t j, const BprState& s, const BprConfig& c) {
  const int f = c.f;
  const float* __restrict yi = s.Y.data() + static_cast<size_t>(i) * f;
  const float* __restrict yj = s.Y.data() + static_cast<size_t>(j) * f;
  float d = 0;
#pragma omp simd reduction(+ : d)
  for (int k = 0; k < f; ++k) d += x[k] * (yi[k] - yj[k]);
  d += s.b[i] - s.b[j];
  PairStep p;
  p.j = j;
  p.g = 1.0f / (1.0f + std::exp(d));             // sigmoid(-d): the gradient of ln sigmoid(d)
  p.loss = d < -15.0f ? -d : -std::log1p(-p.g);  // -ln sigmoid(d), from the same exp
  return p;
}

// WARP: negatives drawn until one violates the margin; its weight ln floor((n - 1) / draws).
static PairStep warp_pair(const float* x, int32_t i, const int32_t* row, int64_t row_len, const BprState& s,
                          const NegativeSampler& neg, const BprConfig& c, std::mt19937_64& rng) {
  const int f = c.f;
  const float si = s.b[i] + dot(x, s.Y.data() + static_cast<size_t>(i) * f, f);
  const int32_t n_items = static_cast<int32_t>(s.b.size());
  PairStep p;
  for (int n = 1; n <= c.max_sampled; ++n) {
    p.j = neg.draw(rng, row, row_len);
    const float margin = 1.0f - si + s.b[p.j] + dot(x, s.Y.data() + static_cast<size_t>(p.j) * f, f);
    if (margin <= 0) continue;
    p.g = std::log(std::max(1.0f, std::floor(static_cast<float>(n_items - 1) / n)));
    p.loss = p.g * margin;
    return p;
  }
  p.g = 0;
  return p;
}

PairStep choose_pair(const float* x, int32_t i, const int32_t* row, int64_t row_len, const BprState& s,
                     const NegativeSampler& neg, const BprConfig& c, std::mt19937_64& rng) {
  if (c.warp) return warp_pair(x, i, row, row_len, s, neg, c, rng);
  return bpr_pair(x, i, neg.draw(rng, row, row_len), s, c);
}

// AdaGrad's step for an accumulator (plain SGD: lr).
static float eta(const float* acc, const BprConfig& c) { return acc ? c.lr / std::sqrt(*acc) : c.lr; }

void update_user(float* x, float* acc, int32_t i, const PairStep& p, const BprState& s, const BprConfig& c) {
  if (p.g == 0) return;
  const float* __restrict yi = s.Y.data() + static_cast<size_t>(i) * c.f;
  const float* __restrict yj = s.Y.data() + static_cast<size_t>(p.j) * c.f;
  const float e = eta(c.adaptive ? acc : nullptr, c), g = p.g, reg = c.reg;
  float sq = 0;
#pragma omp simd reduction(+ : sq)
  for (int k = 0; k < c.f; ++k) {
    const float d = g * (yi[k] - yj[k]) - reg * x[k];
    x[k] += e * d;
    sq += d * d;
  }
  if (c.adaptive) *acc += sq / c.f;
}

// The full step in one pass: x, y_i, y_j (and the biases) move together, each by its gradient
// at the old values; AdaGrad's accumulators grow by the mean squared gradient afterwards.
static void update_all(int32_t u, int32_t i, const PairStep& p, BprState& s, const BprConfig& c) {
  if (p.g == 0) return;
  const int f = c.f;
  float* __restrict x = s.X.data() + static_cast<size_t>(u) * f;
  float* yi = s.Y.data() + static_cast<size_t>(i) * f;
  float* yj = s.Y.data() + static_cast<size_t>(p.j) * f;
  const bool ada = c.adaptive;
  const float ex = eta(ada ? &s.ax[u] : nullptr, c), ei = eta(ada ? &s.ay[i] : nullptr, c),
              ej = eta(ada ? &s.ay[p.j] : nullptr, c);
  const float g = p.g, reg = c.reg;
  float sx = 0, si = 0, sj = 0;
#pragma omp simd reduction(+ : sx, si, sj)
  for (int k = 0; k < f; ++k) {
    const float xk = x[k], di = yi[k], dj = yj[k];
    const float gx = g * (di - dj) - reg * xk, gi = g * xk - reg * di, gj = -g * xk - reg * dj;
    x[k] = xk + ex * gx;
    yi[k] = di + ei * gi;
    yj[k] = dj + ej * gj;
    sx += gx * gx, si += gi * gi, sj += gj * gj;
  }
  if (ada) {
    s.ax[u] += sx / f;
    s.ay[i] += si / f;
    s.ay[p.j] += sj / f;
  }
  if (c.biases) {
    const float gbi = g - c.reg_bias * s.b[i], gbj = -g - c.reg_bias * s.b[p.j];
    s.b[i] += eta(ada ? &s.ab[i] : nullptr, c) * gbi;
    s.b[p.j] += eta(ada ? &s.ab[p.j] : nullptr, c) * gbj;
    if (ada) s.ab[i] += gbi * gbi, s.ab[p.j] += gbj * gbj;
  }
}

// Starts fetching the cache lines of `n` floats at p.
static inline void prefetch_floats(const float* p, int n) {
  for (int k = 0; k < n; k += 16) __builtin_prefetch(p + k);
}

namespace kern {

double bpr_epoch(const Csr& by_user, const std::vector<int32_t>& entry_user, BprState& s, const BprConfig& c,
                 int threads, uint64_t seed) {
  const int64_t nnz = static_cast<int64_t>(by_user.indices.size());
  const int32_t n_items = static_cast<int32_t>(s.b.size());
  const int f = c.f;
  NegativeSampler neg(by_user, n_items, c);
  double total = 0;
#pragma omp parallel num_threads(threads) reduction(+ : total)
  {
    const int t = omp_get_thread_num(), nt = omp_get_num_threads();
    std::mt19937_64 rng(seed * 0x9E3779B97F4A7C15ULL + t);
    const int64_t steps = nnz / nt + (t < nnz % nt);
    // A three-step pipeline. The rows a step reads are random (Y alone is 9 MB on last.fm-2k
    // at 128 factors), so each would wait for memory: step k+2's entry is drawn and its slots
    // in the entry arrays fetched, step k+1's user, positive and (bpr) negative are read and
    // their rows fetched, while step k runs on rows fetched a step ago.
    struct Next {
      int32_t u, i, j;  // j = -1: drawn by the step (warp)
    };
    auto draw_entry = [&] {
      const int64_t e = static_cast<int64_t>(below(rng, static_cast<uint64_t>(nnz)));
      __builtin_prefetch(&entry_user[e]);
      __builtin_prefetch(&by_user.indices[e]);
      return e;
    };
    auto prepare = [&](int64_t e) {
      Next n{entry_user[e], by_user.indices[e], -1};
      const int64_t b = by_user.indptr[n.u];
      if (!c.warp) n.j = neg.draw(rng, by_user.indices.data() + b, by_user.indptr[n.u + 1] - b);
      prefetch_floats(s.X.data() + static_cast<size_t>(n.u) * f, f);
      prefetch_floats(s.Y.data() + static_cast<size_t>(n.i) * f, f);
      __builtin_prefetch(&s.b[n.i]);
      if (c.adaptive) __builtin_prefetch(&s.ax[n.u]), __builtin_prefetch(&s.ay[n.i]), __builtin_prefetch(&s.ab[n.i]);
      if (n.j >= 0) {
        prefetch_floats(s.Y.data() + static_cast<size_t>(n.j) * f, f);
        __builtin_prefetch(&s.b[n.j]);
        if (c.adaptive) __builtin_prefetch(&s.ay[n.j]), __builtin_prefetch(&s.ab[n.j]);
      }
      return n;
    };
    int64_t e2 = draw_entry();
    Next n1 = prepare(draw_entry());
    for (int64_t k = 0; k < steps; ++k) {
      const Next n0 = n1;
      n1 = prepare(e2);
      e2 = draw_entry();
      const float* x = s.X.data() + static_cast<size_t>(n0.u) * f;
      PairStep p;
      if (c.warp) {
        const int64_t b = by_user.indptr[n0.u];
        p = warp_pair(x, n0.i, by_user.indices.data() + b, by_user.indptr[n0.u + 1] - b, s, neg, c, rng);
      } else {
        p = bpr_pair(x, n0.i, n0.j, s, c);
      }
      update_all(n0.u, n0.i, p, s, c);
      total += p.loss;
    }
  }
  return total / std::max<int64_t>(1, nnz);
}

}  // namespace kern

}  // namespace mfkit
