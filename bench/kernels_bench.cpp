// Microbenchmarks of the classical kernels on ML-1M (from $MFKIT_DATA_DIR) or, without it, a
// synthetic matrix of the same shape and size. items_per_second is ratings per second.
//
//   MFKIT_ISA=avx2 OPENBLAS_CORETYPE=Haswell build/bench/mfkit_bench_kernels --benchmark_context=isa=avx2
//       --benchmark_out=bench/results/kernels_avx2.json --benchmark_out_format=json
//   (one command; bench/run_all.sh runs it for every path)
#include <benchmark/benchmark.h>

#include "kernels/als_explicit.h"
#include "kernels/als_implicit.h"
#include "kernels/sgd.h"
#include "mfkit/data.h"
#include "mfkit/error.h"
#include "mfkit/recommend.h"
#include "mfkit/registry.h"
#include "mfkit/split.h"
#include "models/factors.h"
#include "synthetic_implicit.h"

namespace mfkit {
namespace {

const Interactions& train_matrix() {
  static const Interactions m = [] {
    try {
      return random_split(load_data("ml-1m", std::nullopt).data, 0.9, 1).train;
    } catch (const Error&) {
      SyntheticSpec s;
      s.users = 6040;
      s.items = 3706;
      s.density = 0.0402;
      return synthetic_ratings(s);
    }
  }();
  return m;
}

// Args: factors, threads.
void BM_SgdEpoch(benchmark::State& st) {
  const Interactions& m = train_matrix();
  const int k = static_cast<int>(st.range(0)), threads = static_cast<int>(st.range(1));
  Factors f;
  f.init(m, k, 0.01, 1, false);
  SgdState s;
  to_sgd_state(f, s);
  FpsgGrid g = FpsgGrid::build(m, std::max(2 * threads + 1, 20), std::max(2 * threads + 1, 20), 1);
  SgdConfig c;
  c.lr = 0.04f;
  uint64_t ep = 0;
  for (auto _ : st) benchmark::DoNotOptimize(run_sgd_epoch(g, s, c, threads, ++ep));
  st.SetItemsProcessed(st.iterations() * m.nnz());
  st.counters["ratings"] = static_cast<double>(m.nnz());
}
BENCHMARK(BM_SgdEpoch)->ArgsProduct({{32, 64, 128}, {1, 2}})->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_AlsSweep(benchmark::State& st) {
  const Interactions& m = train_matrix();
  const int k = static_cast<int>(st.range(0)), threads = static_cast<int>(st.range(1));
  Factors f;
  f.init(m, k, 0.1, 1, false);
  AlsSolveConfig c;
  c.k = k;
  c.mu = f.mu;
  for (auto _ : st) {
    als_half_sweep(m.by_user(), f.Q.data(), f.bi.data(), c, f.P.data(), f.bu.data(), threads);
    als_half_sweep(m.by_item(), f.P.data(), f.bu.data(), c, f.Q.data(), f.bi.data(), threads);
  }
  st.SetItemsProcessed(st.iterations() * m.nnz() * 2);
}
BENCHMARK(BM_AlsSweep)->ArgsProduct({{32, 64}, {1, 2}})->Unit(benchmark::kMillisecond)->UseRealTime();

const Interactions& synthetic10m() {
  static const Interactions m = bench::synthetic_implicit();
  return m;
}

const Interactions& ml1m_implicit() {
  static const Interactions m = [] {
    LoadOptions o;
    o.binarize = true;
    try {
      return load_data("ml-1m", std::nullopt, o).data;
    } catch (const Error&) {
      return bench::synthetic_implicit(6040, 3706, 1000209, 7);
    }
  }();
  return m;
}

Csr confidences(const Csr& m, float alpha) {
  Csr c{m.indptr, m.indices, m.values, {}};
  for (float& v : c.values) v = 1.0f + alpha * v;
  return c;
}

// One implicit ALS iteration (both half-sweeps). FLOPs counted as implicit does the work: per
// half-sweep a Gram matrix (2 r f^2), and per row a residual plus `steps` A*p products, each
// 4 n_u f (dot + axpy per entry) + 2 f^2 (the Gram product).
void implicit_iteration(benchmark::State& st, const Interactions& m, int steps) {
  const int f = static_cast<int>(st.range(0)), threads = static_cast<int>(st.range(1));
  Csr cu = confidences(m.by_user(), 1.0f), ci = confidences(m.by_item(), 1.0f);
  std::mt19937 rng(1);
  std::normal_distribution<float> g(0, 0.01f);
  std::vector<float> X(static_cast<size_t>(m.n_users()) * f), Y(static_cast<size_t>(m.n_items()) * f), G(f * f);
  for (auto& x : X) x = g(rng);
  for (auto& y : Y) y = g(rng);
  for (auto _ : st) {
    gram(Y.data(), m.n_items(), f, 0.1f, G.data());
    implicit_half_sweep(cu, Y.data(), G.data(), f, steps, X.data(), threads);
    gram(X.data(), m.n_users(), f, 0.1f, G.data());
    implicit_half_sweep(ci, X.data(), G.data(), f, steps, Y.data(), threads);
  }
  const double rows = m.n_users() + m.n_items(), nnz = 2.0 * m.nnz();
  double flops = 2.0 * rows * f * f;
  if (steps > 0)
    flops += (steps + 1) * (4.0 * nnz * f + 2.0 * rows * f * f);
  else
    flops += 2.0 * nnz * f * f + rows * f * f * f / 3.0 + 2.0 * nnz * f;  // rank updates, LLT, rhs
  st.counters["GFLOP/s"] = benchmark::Counter(flops * st.iterations() / 1e9, benchmark::Counter::kIsRate);
  st.counters["nnz"] = static_cast<double>(m.nnz());
}

void BM_ImplicitCg_Synthetic10M(benchmark::State& st) { implicit_iteration(st, synthetic10m(), 3); }
BENCHMARK(BM_ImplicitCg_Synthetic10M)
    ->Args({64, 2})
    ->Args({128, 2})
    ->Args({64, 1})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Iterations(3);
void BM_ImplicitCholesky_Synthetic10M(benchmark::State& st) { implicit_iteration(st, synthetic10m(), 0); }
BENCHMARK(BM_ImplicitCholesky_Synthetic10M)->Args({64, 2})->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(2);
void BM_ImplicitCg_Ml1m(benchmark::State& st) { implicit_iteration(st, ml1m_implicit(), 3); }
BENCHMARK(BM_ImplicitCg_Ml1m)->Args({64, 2})->Args({64, 1})->Unit(benchmark::kMillisecond)->UseRealTime();

// Top-10 for every ML-1M user from an implicit-als model, with and without seen-item filtering.
void BM_RecommendAllUsers(benchmark::State& st) {
  static std::unique_ptr<Model> model = [] {
    auto m = create_model("implicit-als");
    m->set_params({{"factors", 64}, {"iterations", 2}, {"compute_loss", false}});
    m->fit(ml1m_implicit(), {Context{2, 1}, nullptr, nullptr});
    return m;
  }();
  std::vector<int32_t> users(model->n_users());
  for (int32_t u = 0; u < model->n_users(); ++u) users[u] = u;
  RecommendOptions o;
  o.k = 10;
  o.filter_seen = st.range(0) != 0;
  for (auto _ : st) benchmark::DoNotOptimize(recommend(*model, users, o, Context{static_cast<int>(st.range(1)), 1}));
  st.counters["users/s"] =
      benchmark::Counter(static_cast<double>(users.size()) * st.iterations(), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_RecommendAllUsers)->Args({1, 2})->Args({0, 2})->Unit(benchmark::kMillisecond)->UseRealTime();

// The machine's memory bandwidth, for the bandwidth-bound kernels' bytes per interaction
// (bench/bandwidth.py): STREAM's triad a = b + s c over three arrays of 64 Mi floats (768 MiB,
// far past any cache), counting 3 x 4 bytes per element as STREAM does. Args: threads.
void BM_Triad(benchmark::State& st) {
  const size_t n = size_t{64} << 20;
  const int threads = static_cast<int>(st.range(0));
  std::vector<float> a(n), b(n, 1.0f), c(n, 2.0f);
  for (auto _ : st) {
#pragma omp parallel for num_threads(threads) schedule(static)
    for (size_t i = 0; i < n; ++i) a[i] = b[i] + 0.5f * c[i];
    benchmark::DoNotOptimize(a.data());
    benchmark::ClobberMemory();
  }
  st.SetBytesProcessed(static_cast<int64_t>(st.iterations()) * static_cast<int64_t>(3 * n * sizeof(float)));
}
BENCHMARK(BM_Triad)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(2.0);

// Rows of f floats read at random from a 1.5M-row matrix (384 MiB at f=64: the user factors of the
// 100M-line scale file), each summed into one vector: the reads CG's half sweep makes of the other
// side's rows, without the arithmetic. Args: factors, threads.
void BM_GatherRows(benchmark::State& st) {
  const int f = static_cast<int>(st.range(0)), threads = static_cast<int>(st.range(1));
  const size_t rows = 1500000, reads = size_t{1} << 22;
  std::vector<float> Y(rows * static_cast<size_t>(f), 1.0f);
  std::vector<uint32_t> idx(reads);
  uint64_t x = 88172645463325252ull;
  for (auto& i : idx) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    i = static_cast<uint32_t>(x % rows);
  }
  for (auto _ : st) {
#pragma omp parallel num_threads(threads)
    {
      std::vector<float> acc(static_cast<size_t>(f), 0.0f);
#pragma omp for schedule(static)
      for (size_t r = 0; r < reads; ++r) {
        const float* y = Y.data() + static_cast<size_t>(idx[r]) * f;
        if (r + 8 < reads)  // 8 rows ahead, every line of the row (as CG does)
          for (int d = 0; d < f; d += 16) __builtin_prefetch(Y.data() + static_cast<size_t>(idx[r + 8]) * f + d);
#pragma omp simd
        for (int d = 0; d < f; ++d) acc[static_cast<size_t>(d)] += y[d];
      }
      benchmark::DoNotOptimize(acc.data());
    }
  }
  st.SetBytesProcessed(static_cast<int64_t>(st.iterations() * reads * static_cast<size_t>(f) * sizeof(float)));
}
BENCHMARK(BM_GatherRows)->Args({64, 1})->Args({64, 2})->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace mfkit

BENCHMARK_MAIN();
