#include "kernels/sgd.h"

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <mutex>
#include <numeric>
#include <random>

namespace mfkit {

FpsgGrid FpsgGrid::build(const Interactions& train, int nb, uint64_t seed) {
  return build(train.by_user(), train.n_items(), nb, seed);
}

FpsgGrid FpsgGrid::build(const Csr& c, int32_t ni, int nb, uint64_t seed) {
  FpsgGrid g;
  g.nb = nb;
  std::mt19937_64 rng(seed);
  auto perm = [&](int32_t n) {
    std::vector<int32_t> p(n);
    std::iota(p.begin(), p.end(), 0);
    std::shuffle(p.begin(), p.end(), rng);
    return p;
  };
  const int32_t nu = c.rows();
  std::vector<int32_t> pu = perm(nu), pi = perm(ni);
  auto band_u = [&](int32_t u) { return static_cast<int>(static_cast<int64_t>(pu[u]) * nb / nu); };
  auto band_i = [&](int32_t i) { return static_cast<int>(static_cast<int64_t>(pi[i]) * nb / ni); };
  g.block_start.assign(static_cast<size_t>(nb) * nb + 1, 0);
  for (int32_t u = 0; u < nu; ++u)
    for (int64_t e = c.indptr[u]; e < c.indptr[u + 1]; ++e)
      g.block_start[band_u(u) * nb + band_i(c.indices[e]) + 1]++;
  for (size_t b = 0; b + 1 < g.block_start.size(); ++b) g.block_start[b + 1] += g.block_start[b];
  g.entries.resize(c.indices.size());
  std::vector<int64_t> fill(g.block_start.begin(), g.block_start.end() - 1);
  // Users in CSR order, so each block ends up sorted by user.
  for (int32_t u = 0; u < nu; ++u)
    for (int64_t e = c.indptr[u]; e < c.indptr[u + 1]; ++e) {
      int32_t i = c.indices[e];
      g.entries[fill[band_u(u) * nb + band_i(i)]++] = {u, i, c.values[e]};
    }
  return g;
}

void SgdState::init(const Factors& f) {
  k = f.k;
  mu = f.mu;
  stride = (k + 3 + 15) / 16 * 16;
  n_users = f.n_users();
  n_items = f.n_items();
  // 16 floats of slack so the first row can start on a 64-byte boundary.
  storage.assign(static_cast<size_t>(n_users + n_items) * stride + 16, 0.0f);
  auto addr = reinterpret_cast<uintptr_t>(storage.data());
  users = storage.data() + ((64 - addr % 64) % 64) / sizeof(float);
  items = users + static_cast<size_t>(n_users) * stride;
  auto fill = [&](float* rows, int32_t n, const std::vector<float>& F, const std::vector<float>& b) {
    for (int32_t r = 0; r < n; ++r) {
      float* row = rows + static_cast<size_t>(r) * stride;
      std::copy_n(F.data() + static_cast<size_t>(r) * k, k, row);
      row[k] = b[r];
      row[k + 1] = 1.0f;
      row[k + 2] = 1.0f;
    }
  };
  fill(users, n_users, f.P, f.bu);
  fill(items, n_items, f.Q, f.bi);
}

void SgdState::export_to(Factors& f) const {
  auto take = [&](const float* rows, int32_t n, std::vector<float>& F, std::vector<float>& b) {
    for (int32_t r = 0; r < n; ++r) {
      const float* row = rows + static_cast<size_t>(r) * stride;
      std::copy_n(row, k, F.data() + static_cast<size_t>(r) * k);
      b[r] = row[k];
    }
  };
  take(users, n_users, f.P, f.bu);
  take(items, n_items, f.Q, f.bi);
}

namespace {

// lr / sqrt(acc) for an AdaGrad step size by the hardware's reciprocal square root estimate
// (relative error below 1.5e-3, as LIBMF's step sizes): a few cycles instead of a square root
// and a division on the path from one rating to the next of the same user.
inline float rate(float lr, float acc) { return lr * _mm_cvtss_f32(_mm_rsqrt_ss(_mm_set_ss(acc))); }

// The lines of one row, fetched ahead (a row is `stride` floats, a multiple of 16).
inline void prefetch_row(const float* row, size_t stride) {
  for (size_t d = 0; d < stride; d += 16) __builtin_prefetch(row + d);
}

// One rating's step: the error against mu + b_u + b_i + p.q, then p, q and the biases moved
// along their gradients at the old values (AdaGrad: each vector's own rate, accumulators grow by
// the mean squared gradient, as LIBMF).
inline double step1(const Rating& x, SgdState& s, const SgdConfig& c) {
  const int k = s.k;
  const size_t stride = static_cast<size_t>(s.stride);
  float* __restrict p = s.users + x.u * stride;
  float* __restrict q = s.items + x.i * stride;
  float dot = 0;
#pragma omp simd reduction(+ : dot) aligned(p, q : 64)
  for (int d = 0; d < k; ++d) dot += p[d] * q[d];
  float& bu = p[k];
  float& bi = q[k];
  const float e = x.r - (s.mu + bu + bi + dot), lr = c.lr, reg = c.reg, rb = c.reg_bias;
  if (c.adaptive) {
    const float ep = rate(lr, p[k + 1]), eq = rate(lr, q[k + 1]);
    float gp2 = 0, gq2 = 0;
#pragma omp simd reduction(+ : gp2, gq2) aligned(p, q : 64)
    for (int d = 0; d < k; ++d) {
      const float pd = p[d], qd = q[d];
      const float gp = reg * pd - e * qd, gq = reg * qd - e * pd;
      gp2 += gp * gp;
      gq2 += gq * gq;
      p[d] = pd - ep * gp;
      q[d] = qd - eq * gq;
    }
    p[k + 1] += gp2 / k;
    q[k + 1] += gq2 / k;
    if (c.biases) {
      const float gbu = rb * bu - e, gbi = rb * bi - e;
      bu -= rate(lr, p[k + 2]) * gbu;
      bi -= rate(lr, q[k + 2]) * gbi;
      p[k + 2] += gbu * gbu;
      q[k + 2] += gbi * gbi;
    }
  } else {
#pragma omp simd aligned(p, q : 64)
    for (int d = 0; d < k; ++d) {
      const float pd = p[d], qd = q[d];
      p[d] = pd + lr * (e * qd - reg * pd);
      q[d] = qd + lr * (e * pd - reg * qd);
    }
    if (c.biases) {
      bu += lr * (e - rb * bu);
      bi += lr * (e - rb * bi);
    }
  }
  return static_cast<double>(e) * e;
}

// Two ratings of different users and different items at once: the same arithmetic as two
// step1 calls, in the same loops, so that the two dependency chains (dot product, error,
// update) overlap instead of waiting on each other.
inline double step2(const Rating& x, const Rating& y, SgdState& s, const SgdConfig& c) {
  const int k = s.k;
  const size_t stride = static_cast<size_t>(s.stride);
  float* __restrict p = s.users + x.u * stride;
  float* __restrict q = s.items + x.i * stride;
  float* __restrict p2 = s.users + y.u * stride;
  float* __restrict q2 = s.items + y.i * stride;
  float dot = 0, dot2 = 0;
#pragma omp simd reduction(+ : dot, dot2) aligned(p, q, p2, q2 : 64)
  for (int d = 0; d < k; ++d) {
    dot += p[d] * q[d];
    dot2 += p2[d] * q2[d];
  }
  const float e = x.r - (s.mu + p[k] + q[k] + dot), e2 = y.r - (s.mu + p2[k] + q2[k] + dot2);
  const float lr = c.lr, reg = c.reg, rb = c.reg_bias;
  if (c.adaptive) {
    const float ep = rate(lr, p[k + 1]), eq = rate(lr, q[k + 1]);
    const float ep2 = rate(lr, p2[k + 1]), eq2 = rate(lr, q2[k + 1]);
    float gp2 = 0, gq2 = 0, hp2 = 0, hq2 = 0;
#pragma omp simd reduction(+ : gp2, gq2, hp2, hq2) aligned(p, q, p2, q2 : 64)
    for (int d = 0; d < k; ++d) {
      const float pd = p[d], qd = q[d], pe = p2[d], qe = q2[d];
      const float gp = reg * pd - e * qd, gq = reg * qd - e * pd;
      const float hp = reg * pe - e2 * qe, hq = reg * qe - e2 * pe;
      gp2 += gp * gp;
      gq2 += gq * gq;
      hp2 += hp * hp;
      hq2 += hq * hq;
      p[d] = pd - ep * gp;
      q[d] = qd - eq * gq;
      p2[d] = pe - ep2 * hp;
      q2[d] = qe - eq2 * hq;
    }
    p[k + 1] += gp2 / k;
    q[k + 1] += gq2 / k;
    p2[k + 1] += hp2 / k;
    q2[k + 1] += hq2 / k;
    if (c.biases) {
      const float gbu = rb * p[k] - e, gbi = rb * q[k] - e, hbu = rb * p2[k] - e2, hbi = rb * q2[k] - e2;
      p[k] -= rate(lr, p[k + 2]) * gbu;
      q[k] -= rate(lr, q[k + 2]) * gbi;
      p2[k] -= rate(lr, p2[k + 2]) * hbu;
      q2[k] -= rate(lr, q2[k + 2]) * hbi;
      p[k + 2] += gbu * gbu;
      q[k + 2] += gbi * gbi;
      p2[k + 2] += hbu * hbu;
      q2[k + 2] += hbi * hbi;
    }
  } else {
#pragma omp simd aligned(p, q, p2, q2 : 64)
    for (int d = 0; d < k; ++d) {
      const float pd = p[d], qd = q[d], pe = p2[d], qe = q2[d];
      p[d] = pd + lr * (e * qd - reg * pd);
      q[d] = qd + lr * (e * pd - reg * qd);
      p2[d] = pe + lr * (e2 * qe - reg * pe);
      q2[d] = qe + lr * (e2 * pe - reg * qe);
    }
    if (c.biases) {
      p[k] += lr * (e - rb * p[k]);
      q[k] += lr * (e - rb * q[k]);
      p2[k] += lr * (e2 - rb * p2[k]);
      q2[k] += lr * (e2 - rb * q2[k]);
    }
  }
  return static_cast<double>(e) * e + static_cast<double>(e2) * e2;
}

}  // namespace

double sgd_block(const Rating* begin, const Rating* end, SgdState& s, const SgdConfig& c) {
  // The block's entries are sorted by user: its two halves, cut at a user boundary, share no
  // user, and run side by side (a pair that shares an item runs one after the other). The
  // item rows a few entries ahead are fetched early: they are the block's random reads.
  const size_t stride = static_cast<size_t>(s.stride);
  const Rating* mid = begin + (end - begin) / 2;
  while (mid != end && mid != begin && mid->u == (mid - 1)->u) ++mid;
  const Rating *a = begin, *b = mid;
  constexpr int kAhead = 4;
  double sse = 0;
  for (; a != mid && b != end; ++a, ++b) {
    if (mid - a > kAhead) {
      prefetch_row(s.items + a[kAhead].i * stride, stride);
      if (a[kAhead].u != a[kAhead - 1].u) prefetch_row(s.users + a[kAhead].u * stride, stride);
    }
    if (end - b > kAhead) {
      prefetch_row(s.items + b[kAhead].i * stride, stride);
      if (b[kAhead].u != b[kAhead - 1].u) prefetch_row(s.users + b[kAhead].u * stride, stride);
    }
    if (a->i != b->i) {
      sse += step2(*a, *b, s, c);
    } else {
      sse += step1(*a, s, c);
      sse += step1(*b, s, c);
    }
  }
  for (; a != mid; ++a) sse += step1(*a, s, c);
  for (; b != end; ++b) sse += step1(*b, s, c);
  return sse;
}

namespace {

// Hands out blocks whose row band and column band are both idle; each block once per epoch,
// in a seeded random priority order.
class Scheduler {
 public:
  Scheduler(int nb, uint64_t seed) : nb_(nb), row_busy_(nb, 0), col_busy_(nb, 0), done_(nb * nb, 0) {
    order_.resize(nb * nb);
    std::iota(order_.begin(), order_.end(), 0);
    std::mt19937_64 rng(seed);
    std::shuffle(order_.begin(), order_.end(), rng);
  }
  int get() {
    std::unique_lock<std::mutex> lock(m_);
    while (true) {
      if (handed_ == nb_ * nb_) return -1;
      for (size_t k = next_; k < order_.size(); ++k) {
        int b = order_[k];
        if (done_[b]) continue;
        int r = b / nb_, c = b % nb_;
        if (row_busy_[r] || col_busy_[c]) continue;
        row_busy_[r] = col_busy_[c] = 1;
        done_[b] = 1;
        ++handed_;
        while (next_ < order_.size() && done_[order_[next_]]) ++next_;
        return b;
      }
      cv_.wait(lock);
    }
  }
  void put(int b) {
    {
      std::lock_guard<std::mutex> lock(m_);
      row_busy_[b / nb_] = col_busy_[b % nb_] = 0;
    }
    cv_.notify_all();
  }

 private:
  int nb_;
  std::vector<char> row_busy_, col_busy_, done_;
  std::vector<int> order_;
  size_t next_ = 0;
  int handed_ = 0;
  std::mutex m_;
  std::condition_variable cv_;
};

}  // namespace

double run_sgd_epoch(const FpsgGrid& g, SgdState& s, const SgdConfig& c, int threads, uint64_t seed) {
  Scheduler sched(g.nb, seed);
  double total = 0;
#pragma omp parallel num_threads(threads) reduction(+ : total)
  {
    int b;
    while ((b = sched.get()) >= 0) {
      total += sgd_block(g.entries.data() + g.block_start[b], g.entries.data() + g.block_start[b + 1], s, c);
      sched.put(b);
    }
  }
  return total;
}

}  // namespace mfkit
