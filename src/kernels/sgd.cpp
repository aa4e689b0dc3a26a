#include "kernels/sgd.h"

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <mutex>
#include <numeric>
#include <random>

#include "core/counting_sort.h"
#include "core/huge_pages.h"
#include "kernels/simd.h"

namespace mfkit {

FpsgGrid FpsgGrid::build(const Interactions& train, int user_bands, int item_bands, uint64_t seed, int threads) {
  return build(train.by_user(), train.n_items(), user_bands, item_bands, seed, threads);
}

FpsgGrid FpsgGrid::build(const Csr& c, int32_t ni, int user_bands, int item_bands, uint64_t seed, int threads) {
  FpsgGrid g;
  g.user_bands = user_bands;
  g.item_bands = item_bands;
  std::mt19937_64 rng(seed);
  auto perm = [&](int32_t n) {
    std::vector<int32_t> p(n);
    std::iota(p.begin(), p.end(), 0);
    std::shuffle(p.begin(), p.end(), rng);
    return p;
  };
  const int32_t nu = c.rows();
  std::vector<int32_t> pu = perm(nu), pi = perm(ni);
  // The first block of each user's band row and the band of each item.
  for (int32_t u = 0; u < nu; ++u)
    pu[u] = static_cast<int32_t>(static_cast<int64_t>(pu[u]) * user_bands / nu) * item_bands;
  for (int32_t i = 0; i < ni; ++i) pi[i] = static_cast<int32_t>(static_cast<int64_t>(pi[i]) * item_bands / ni);
  // Worker t takes the users of about 1/T of the entries and counts, then fills, its share of
  // every block; its shares come after those of workers before it, so each block stays sorted
  // by user whatever T is.
  const size_t blocks = static_cast<size_t>(user_bands) * item_bands;
  const int64_t nnz = c.indptr[nu];
  const int T = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(threads, nnz / 65536)));
  const std::vector<int32_t> first = row_ranges(c, T);
  std::vector<std::vector<int64_t>> at(T);
  auto each = [&](int t, auto&& f) {
    for (int32_t u = first[t]; u < first[t + 1]; ++u)
      for (int64_t e = c.indptr[u]; e < c.indptr[u + 1]; ++e) f(u, e, pu[u] + pi[c.indices[e]]);
  };
#pragma omp parallel for num_threads(T) schedule(static, 1)
  for (int t = 0; t < T; ++t) {
    at[t].assign(blocks, 0);
    int64_t* n = at[t].data();
    each(t, [&](int32_t, int64_t, int32_t b) { ++n[b]; });
  }
  counts_to_places(at, blocks, g.block_start);
  resize_huge(g.entries, static_cast<size_t>(nnz));
#pragma omp parallel for num_threads(T) schedule(static, 1)
  for (int t = 0; t < T; ++t) {
    int64_t* fill = at[t].data();
    each(t, [&](int32_t u, int64_t e, int32_t b) { g.entries[fill[b]++] = {u, c.indices[e], c.values[e]}; });
  }
  return g;
}

void SgdRow::put(float* r, const float* factors, float b) const {
  std::fill_n(r, stride, 0.0f);
  std::copy_n(factors, k, r);
  r[bias()] = b;
  r[acc()] = 1.0f;
  r[bias_acc()] = 1.0f;
}

float SgdRow::get(const float* r, float* factors) const {
  std::copy_n(r, k, factors);
  return r[bias()];
}

void SgdState::init(const Factors& f, int threads) {
  row = SgdRow(f.k);
  mu = f.mu;
  n_users = f.n_users();
  n_items = f.n_items();
  // 16 floats of slack so the first row can start on a 64-byte boundary.
  storage.clear();
  resize_huge(storage, static_cast<size_t>(n_users + n_items) * row.stride + 16);
  auto addr = reinterpret_cast<uintptr_t>(storage.data());
  users = storage.data() + ((64 - addr % 64) % 64) / sizeof(float);
  items = users + static_cast<size_t>(n_users) * row.stride;
  const int32_t n = n_users + n_items;
#pragma omp parallel for num_threads(threads) schedule(static, 4096)
  for (int32_t r = 0; r < n; ++r) {
    const bool user = r < n_users;
    const int32_t j = user ? r : r - n_users;
    row.put(users + static_cast<size_t>(r) * row.stride, (user ? f.P : f.Q).data() + static_cast<size_t>(j) * f.k,
            (user ? f.bu : f.bi)[j]);
  }
}

void SgdState::export_to(Factors& f, int threads) const {
  const int32_t n = n_users + n_items;
#pragma omp parallel for num_threads(threads) schedule(static, 4096)
  for (int32_t r = 0; r < n; ++r) {
    const bool user = r < n_users;
    const int32_t j = user ? r : r - n_users;
    (user ? f.bu : f.bi)[j] = row.get((user ? users : items) + static_cast<size_t>(j) * row.stride,
                                      (user ? f.P : f.Q).data() + static_cast<size_t>(j) * f.k);
  }
}

namespace {

// One 64-byte line of a row.
using V = V16;

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
  const int nv = NV > 0 ? NV : s.row.width / 16;
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
#pragma GCC unroll 8
    for (int v = 1; v < nv; ++v) {
      if (v % 2) d1 += P[n][v] * Q[n][v];
      else d0 += P[n][v] * Q[n][v];
    }
    e[n] = x[n]->r - ((s.mu + p[n][b] + q[n][b]) + hsum(d0 + d1));
  }
  const float lr = c.lr, reg = c.reg, rb = c.reg_bias;
  if (c.adaptive) {
    const float inv_k = 1.0f / static_cast<float>(s.row.k);
    for (int n = 0; n < N; ++n) {
      const float ep = rate(lr, p[n][ga]), eq = rate(lr, q[n][ga]);
      V gp2{}, gq2{};
#pragma GCC unroll 8
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
#pragma GCC unroll 8
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

double sgd_block(const Rating* begin, const Rating* end, SgdState& s, const SgdConfig& c) {
  switch (s.row.width / 16) {
    case 1: return run_block<1>(begin, end, s, c);
    case 2: return run_block<2>(begin, end, s, c);
    case 3: return run_block<3>(begin, end, s, c);
    case 4: return run_block<4>(begin, end, s, c);
    case 5: return run_block<5>(begin, end, s, c);
    case 6: return run_block<6>(begin, end, s, c);
    case 7: return run_block<7>(begin, end, s, c);
    case 8: return run_block<8>(begin, end, s, c);
    default: return run_block<0>(begin, end, s, c);
  }
}

namespace {

// Hands out blocks whose row band and column band are both idle; each block once per epoch,
// in a seeded random priority order.
class Scheduler {
 public:
  Scheduler(int rows, int cols, uint64_t seed) : cols_(cols), row_busy_(rows, 0), col_busy_(cols, 0), done_(rows * cols, 0) {
    order_.resize(done_.size());
    std::iota(order_.begin(), order_.end(), 0);
    std::mt19937_64 rng(seed);
    std::shuffle(order_.begin(), order_.end(), rng);
  }
  int get() {
    std::unique_lock<std::mutex> lock(m_);
    while (true) {
      if (handed_ == static_cast<int>(order_.size())) return -1;
      for (size_t k = next_; k < order_.size(); ++k) {
        int b = order_[k];
        if (done_[b]) continue;
        int r = b / cols_, c = b % cols_;
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
      row_busy_[b / cols_] = col_busy_[b % cols_] = 0;
    }
    cv_.notify_all();
  }

 private:
  int cols_;
  std::vector<char> row_busy_, col_busy_, done_;
  std::vector<int> order_;
  size_t next_ = 0;
  int handed_ = 0;
  std::mutex m_;
  std::condition_variable cv_;
};

}  // namespace

double run_sgd_epoch(const FpsgGrid& g, SgdState& s, const SgdConfig& c, int threads, uint64_t seed) {
  Scheduler sched(g.user_bands, g.item_bands, seed);
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
