#include "kernels/sgd.h"

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <mutex>
#include <numeric>
#include <random>

#include "core/counting_sort.h"
#include "core/huge_pages.h"
#include "kernels/dispatch.h"

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

void SgdState::allocate(const SgdRow& layout, int32_t users_, int32_t items_) {
  row = layout;
  n_users = users_;
  n_items = items_;
  // 16 floats of slack so the first row can start on a 64-byte boundary.
  storage.clear();
  resize_huge(storage, static_cast<size_t>(n_users + n_items) * row.stride + 16);
  auto addr = reinterpret_cast<uintptr_t>(storage.data());
  users = storage.data() + ((64 - addr % 64) % 64) / sizeof(float);
  items = users + static_cast<size_t>(n_users) * row.stride;
}

namespace {

// Hands out blocks whose row band and column band are both idle; each block once per epoch,
// in a seeded random priority order.
class Scheduler {
 public:
  Scheduler(int rows, int cols, uint64_t seed)
      : cols_(cols), row_busy_(rows, 0), col_busy_(cols, 0), done_(rows * cols, 0) {
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
  const auto block = kernels().sgd_block;  // chosen before the threads start
  double total = 0;
#pragma omp parallel num_threads(threads) reduction(+ : total)
  {
    int b;
    while ((b = sched.get()) >= 0) {
      total += block(g.entries.data() + g.block_start[b], g.entries.data() + g.block_start[b + 1], s, c);
      sched.put(b);
    }
  }
  return total;
}

}  // namespace mfkit
