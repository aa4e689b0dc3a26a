// Microbenchmarks of the classical kernels on ML-1M (from $MFKIT_DATA_DIR) or, without it, a
// synthetic matrix of the same shape and size. items_per_second is ratings per second.
//
//   build/bench/mfkit_bench_kernels --benchmark_out=bench/results/kernels.json --benchmark_out_format=json
#include <benchmark/benchmark.h>

#include "kernels/als_explicit.h"
#include "kernels/sgd.h"
#include "mfkit/data.h"
#include "mfkit/error.h"
#include "mfkit/split.h"

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
  s.init(f);
  FpsgGrid g = FpsgGrid::build(m, std::max(2 * threads + 1, 20), 1);
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

}  // namespace
}  // namespace mfkit

BENCHMARK_MAIN();
