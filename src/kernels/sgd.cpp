#include "kernels/sgd.h"

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <mutex>
#include <numeric>
#include <random>

namespace mfkit {

FpsgGrid FpsgGrid::build(const Interactions& train, int nb, uint64_t seed) {
  FpsgGrid g;
  g.nb = nb;
  std::mt19937_64 rng(seed);
  auto perm = [&](int32_t n) {
    std::vector<int32_t> p(n);
    std::iota(p.begin(), p.end(), 0);
    std::shuffle(p.begin(), p.end(), rng);
    return p;
  };
  const int32_t nu = train.n_users(), ni = train.n_items();
  std::vector<int32_t> pu = perm(nu), pi = perm(ni);
  auto band_u = [&](int32_t u) { return static_cast<int>(static_cast<int64_t>(pu[u]) * nb / nu); };
  auto band_i = [&](int32_t i) { return static_cast<int>(static_cast<int64_t>(pi[i]) * nb / ni); };
  const Csr& c = train.by_user();
  g.block_start.assign(static_cast<size_t>(nb) * nb + 1, 0);
  for (int32_t u = 0; u < nu; ++u)
    for (int64_t e = c.indptr[u]; e < c.indptr[u + 1]; ++e)
      g.block_start[band_u(u) * nb + band_i(c.indices[e]) + 1]++;
  for (size_t b = 0; b + 1 < g.block_start.size(); ++b) g.block_start[b + 1] += g.block_start[b];
  g.entries.resize(train.nnz());
  std::vector<int64_t> fill(g.block_start.begin(), g.block_start.end() - 1);
  // Users in CSR order, so each block ends up sorted by user.
  for (int32_t u = 0; u < nu; ++u)
    for (int64_t e = c.indptr[u]; e < c.indptr[u + 1]; ++e) {
      int32_t i = c.indices[e];
      g.entries[fill[band_u(u) * nb + band_i(i)]++] = {u, i, c.values[e]};
    }
  return g;
}

void SgdState::init(int32_t nu, int32_t ni) {
  gp.assign(nu, 1.0f);
  gq.assign(ni, 1.0f);
  gbu.assign(nu, 1.0f);
  gbi.assign(ni, 1.0f);
}

double sgd_block(const Rating* begin, const Rating* end, Factors& f, SgdState& s, const SgdConfig& c) {
  const int k = f.k;
  const float mu = f.mu, lr = c.lr, reg = c.reg, rb = c.reg_bias;
  float* P = f.P.data();
  float* Q = f.Q.data();
  double sse = 0;
  for (const Rating* x = begin; x != end; ++x) {
    float* p = P + static_cast<size_t>(x->u) * k;
    float* q = Q + static_cast<size_t>(x->i) * k;
    float dot = 0;
#pragma omp simd reduction(+ : dot)
    for (int d = 0; d < k; ++d) dot += p[d] * q[d];
    float& bu = f.bu[x->u];
    float& bi = f.bi[x->i];
    const float e = x->r - (mu + bu + bi + dot);
    sse += static_cast<double>(e) * e;
    if (c.adaptive) {
      const float ep = lr / std::sqrt(s.gp[x->u]), eq = lr / std::sqrt(s.gq[x->i]);
      float gp2 = 0, gq2 = 0;
#pragma omp simd reduction(+ : gp2, gq2)
      for (int d = 0; d < k; ++d) {
        const float pd = p[d], qd = q[d];
        const float gp = reg * pd - e * qd, gq = reg * qd - e * pd;
        gp2 += gp * gp;
        gq2 += gq * gq;
        p[d] = pd - ep * gp;
        q[d] = qd - eq * gq;
      }
      s.gp[x->u] += gp2 / k;
      s.gq[x->i] += gq2 / k;
      if (c.biases) {
        const float gbu = rb * bu - e, gbi = rb * bi - e;
        bu -= lr / std::sqrt(s.gbu[x->u]) * gbu;
        bi -= lr / std::sqrt(s.gbi[x->i]) * gbi;
        s.gbu[x->u] += gbu * gbu;
        s.gbi[x->i] += gbi * gbi;
      }
    } else {
#pragma omp simd
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
  }
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

double run_sgd_epoch(const FpsgGrid& g, Factors& f, SgdState& s, const SgdConfig& c, int threads, uint64_t seed) {
  Scheduler sched(g.nb, seed);
  double total = 0;
#pragma omp parallel num_threads(threads) reduction(+ : total)
  {
    int b;
    while ((b = sched.get()) >= 0) {
      total += sgd_block(g.entries.data() + g.block_start[b], g.entries.data() + g.block_start[b + 1], f, s, c);
      sched.put(b);
    }
  }
  return total;
}

}  // namespace mfkit
