// Distributed biased-mf by stratified SGD (DSGD, Gemulla et al., KDD 2011). The ratings form a
// P x P grid of blocks: block (r, j) holds the ratings of the users rank r owns on the items rank
// j owns, and rank r keeps row r (its user block). In sub-epoch t rank r updates block
// (r, r + t mod P) with LIBMF's schedule on its threads; the P blocks of a sub-epoch share no
// users and no items, so no factor is written by two ranks. Between sub-epochs every rank hands
// the item rows it holds (factors, bias, AdaGrad accumulators) to rank r - 1; after P of them an
// epoch is over and each rank holds its own items again.

#include <algorithm>
#include <cmath>
#include <cstring>

#include "dist/fit.h"
#include "kernels/sgd.h"
#include "mfkit/models/biased_mf.h"
#include "models/factors.h"

namespace mfkit::dist {

namespace {

// n rows of `stride` floats starting on a 64-byte boundary (the SGD kernel's rows).
struct AlignedRows {
  std::vector<float> storage;
  float* rows = nullptr;
  size_t n = 0, stride = 0;
  AlignedRows(size_t n_, size_t stride_) : storage(n_ * stride_ + 16, 0.0f), n(n_), stride(stride_) {
    const auto addr = reinterpret_cast<uintptr_t>(storage.data());
    rows = storage.data() + ((64 - addr % 64) % 64) / sizeof(float);
  }
  size_t floats() const { return n * stride; }
};

// The kernel's rows (factors, bias 0, accumulators 1) from the raw-id-keyed normal draws.
void init_rows(AlignedRows& a, const SgdRow& layout, const std::vector<std::string>& names, double std, uint64_t seed) {
  const int k = layout.k;
  std::vector<float> f(names.size() * k);
  keyed_normal_rows(names, k, std, seed, f.data());
  // `a` may have more rows than names (room for the widest rank's items): those start at zero.
  const std::vector<float> zero(k, 0.0f);
  for (size_t r = 0; r < a.n; ++r)
    layout.put(a.rows + r * a.stride, r < names.size() ? f.data() + r * k : zero.data(), 0.0f);
}

// Block (me, j) of the grid: this rank's users on rank j's items, numbered from j's first item.
Csr stratum(const Block& b, const OwnedIds& items, int j) {
  const auto first = std::lower_bound(b.columns.begin(), b.columns.end(), items.offsets[j]) - b.columns.begin();
  const auto last = std::lower_bound(b.columns.begin(), b.columns.end(), items.offsets[j + 1]) - b.columns.begin();
  const Csr& m = b.rows;
  Csr s;
  s.indptr.assign(m.indptr.size(), 0);
  for (int32_t u = 0; u < m.rows(); ++u) {
    // A row's columns ascend, and rank j's columns are one run [first, last) of them.
    const int32_t* begin = m.indices.data() + m.indptr[u];
    const int32_t* end = m.indices.data() + m.indptr[u + 1];
    const int32_t* lo = std::lower_bound(begin, end, static_cast<int32_t>(first));
    const int32_t* hi = std::lower_bound(lo, end, static_cast<int32_t>(last));
    for (const int32_t* e = lo; e < hi; ++e) {
      s.indices.push_back(static_cast<int32_t>(b.columns[*e] - items.offsets[j]));
      s.values.push_back(m.values[e - m.indices.data()]);
    }
    s.indptr[u + 1] = static_cast<int64_t>(s.indices.size());
  }
  return s;
}

}  // namespace

LocalModel fit_biased_mf(FitContext& fc) {
  const auto p = params_of<BiasedMfParams>(fc);
  Communicator& comm = fc.comm;
  const Partition& part = fc.part;
  const int P = comm.size(), me = comm.rank(), k = p.factors, threads = fc.job.ctx.threads;
  const uint64_t seed = fc.job.ctx.seed;
  const SgdRow layout(k);
  const size_t stride = static_cast<size_t>(layout.stride);
  auto items_of = [&](int j) { return static_cast<size_t>(part.items.offsets[j + 1] - part.items.offsets[j]); };
  size_t widest = 0;
  for (int j = 0; j < P; ++j) widest = std::max(widest, items_of(j));

  const double std = p.init_std / std::sqrt(static_cast<double>(k));
  AlignedRows users(part.users.names.size(), stride), held(widest, stride);
  init_rows(users, layout, part.users.names, std, seed);
  init_rows(held, layout, part.items.names, std, seed);  // this rank's own items first
  const auto [user_bands, item_bands] = p.grid(threads, static_cast<int64_t>(users.n));
  std::vector<FpsgGrid> grids(P);
  for (int j = 0; j < P; ++j)
    grids[j] = FpsgGrid::build(stratum(part.by_user, part.items, j), static_cast<int32_t>(items_of(j)), user_bands,
                               item_bands, seed + 1 + static_cast<uint64_t>(j));

  SgdConfig cfg;
  cfg.reg = static_cast<float>(p.reg);
  cfg.reg_bias = static_cast<float>(p.reg_bias);
  cfg.adaptive = p.adaptive;
  cfg.biases = p.biases;
  SgdState s;
  s.row = layout;
  s.mu = static_cast<float>(part.value_sum / static_cast<double>(part.nnz));
  s.users = users.rows;
  s.items = held.rows;
  s.n_users = static_cast<int32_t>(users.n);
  const State state{{"user_rows", users.rows, users.floats()}, {"item_rows", held.rows, items_of(me) * stride}};
  iterate(fc, p.epochs, state, [&](int epoch) {
    cfg.lr = static_cast<float>(p.adaptive ? p.learning_rate : p.learning_rate * std::pow(p.lr_decay, epoch - 1));
    std::vector<double> sse(1, 0.0);
    for (int t = 0; t < P; ++t) {
      const int j = (me + t) % P;
      s.n_items = static_cast<int32_t>(items_of(j));
      sse[0] += run_sgd_epoch(grids[j], s, cfg, threads, (seed * 1000003ULL + epoch) * P + t);
      if (P == 1) continue;
      // Hand the rows of rank j's items to rank me - 1; take rank j + 1's from rank me + 1.
      std::vector<float> send(held.rows, held.rows + items_of(j) * stride);
      std::vector<int64_t> counts(P, 0), recv(P, 0);
      counts[(me + P - 1) % P] = static_cast<int64_t>(send.size());
      recv[(me + 1) % P] = static_cast<int64_t>(items_of((j + 1) % P) * stride);
      std::vector<float> got = comm.alltoall_known(send, counts, recv, "pass item blocks");
      std::copy(got.begin(), got.end(), held.rows);
    }
    comm.allreduce_sum(sse, "loss");
    return std::sqrt(sse[0] / static_cast<double>(part.nnz));
  });

  LocalModel m;
  m.k = k;
  m.mu = s.mu, m.lo = part.lo, m.hi = part.hi, m.clip = p.clip;
  auto take = [&](const AlignedRows& a, size_t n, std::vector<float>& F, std::vector<float>& b) {
    F.resize(n * k);
    b.resize(n);
    for (size_t r = 0; r < n; ++r) b[r] = layout.get(a.rows + r * stride, F.data() + r * k);
  };
  take(users, users.n, m.P, m.bu);
  take(held, items_of(me), m.Q, m.bi);
  return m;
}

}  // namespace mfkit::dist
