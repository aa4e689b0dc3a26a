// Approximate top-N against the exact scan: a synthetic factor model (item norms falling with
// popularity rank, as trained factors do), an HNSW index per metric, then queries per second and
// recall@10 at several ef_search, all on the same queries, exact and approximate in one run.
//
//   build/bench/mfkit_bench_ann --items 1000000 --factors 64 --threads 2 --out bench/results/ann_1m.json
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <random>
#include <set>

#include "mfkit/index.h"
#include "mfkit/model_file.h"
#include "mfkit/recommend.h"
#include "mfkit/registry.h"

using Clock = std::chrono::steady_clock;
using nlohmann::json;
using namespace mfkit;

namespace {

double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// An implicit-als model holding synthetic factors: users N(0, 1), item i N(0, 1) scaled by
// (rank + 1)^-0.3 with ranks shuffled, the spread of norms a trained model shows.
std::unique_ptr<Model> synthetic_model(int32_t users, int32_t items, int k, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> g(0, 1);
  std::vector<float> X(static_cast<size_t>(users) * k), Y(static_cast<size_t>(items) * k);
  for (auto& x : X) x = g(rng) / std::sqrt(static_cast<float>(k));
  std::vector<int32_t> rank(items);
  for (int32_t i = 0; i < items; ++i) rank[i] = i;
  std::shuffle(rank.begin(), rank.end(), rng);
  for (int32_t i = 0; i < items; ++i) {
    float s = std::pow(rank[i] + 1.0f, -0.3f);
    for (int d = 0; d < k; ++d) Y[static_cast<size_t>(i) * k + d] = g(rng) * s;
  }
  std::vector<std::string> un(users), in(items);
  for (int32_t u = 0; u < users; ++u) un[u] = std::to_string(u);
  for (int32_t i = 0; i < items; ++i) in[i] = std::to_string(i);
  auto m = create_model("implicit-als");
  Csr seen;
  seen.indptr.assign(static_cast<size_t>(users) + 1, 0);
  m->restore_base(IdMap::from_names(un), IdMap::from_names(in), seen);
  TensorMap t;
  t["user_factors"] = Tensor::f32(X, {users, k});
  t["item_factors"] = Tensor::f32(Y, {items, k});
  t["train_values"] = Tensor::f32({});
  m->load_tensors(t);
  return m;
}

double recall(const std::vector<std::vector<Scored>>& got, const std::vector<std::vector<Scored>>& want) {
  double hit = 0, n = 0;
  for (size_t r = 0; r < want.size(); ++r) {
    std::set<int32_t> w;
    for (const auto& s : want[r]) w.insert(s.index);
    for (const auto& s : got[r]) hit += w.count(s.index);
    n += static_cast<double>(w.size());
  }
  return hit / n;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"mfkit_bench_ann: approximate against exact top-N"};
  int32_t items = 100000, users = 20000;
  int k = 64, threads = 2, queries = 2000, top = 10;
  std::vector<int> efs{10, 20, 40, 80, 160, 320};
  std::vector<std::string> metrics{"ip", "l2-transform"};
  int M = 16, efc = 100;
  std::string out;
  app.add_option("--items", items, "catalogue size")->capture_default_str();
  app.add_option("--users", users, "user vectors to draw queries from")->capture_default_str();
  app.add_option("--factors", k, "factor dimension")->capture_default_str();
  app.add_option("--threads", threads, "threads for building and querying")->capture_default_str();
  app.add_option("--queries", queries, "query users")->capture_default_str();
  app.add_option("--ef", efs, "ef_search values")->capture_default_str();
  app.add_option("--metrics", metrics, "index metrics to build")->capture_default_str();
  app.add_option("-M", M, "HNSW links per node")->capture_default_str();
  app.add_option("--ef-construction", efc, "HNSW build list")->capture_default_str();
  app.add_option("--out", out, "JSON file to write")->required();
  CLI11_PARSE(app, argc, argv);
  std::string command;
  for (int a = 0; a < argc; ++a) command += (a ? " " : "") + std::string(argv[a]);

  auto model = synthetic_model(users, items, k, 42);
  std::vector<int32_t> q(queries);
  std::mt19937 rng(7);
  for (auto& u : q) u = static_cast<int32_t>(rng() % users);
  RecommendOptions exact;
  exact.k = top;
  exact.exact = true;
  Context ctx{threads, 1};
  recommend(*model, std::vector<int32_t>(q.begin(), q.begin() + std::min(queries, 256)), exact, ctx);  // warm up
  auto t0 = Clock::now();
  auto truth = recommend(*model, q, exact, ctx);
  double exact_qps = queries / since(t0);
  fmt::print("exact: {:.0f} queries/s\n", exact_qps);
  json runs = json::array();
  for (const auto& metric : metrics) {
    IndexParams p;
    p.M = M;
    p.ef_construction = efc;
    p.metric = metric;
    p.cosine = false;
    auto tb = Clock::now();
    auto index = ItemIndex::build(*model, p, ctx);
    double build = since(tb);
    fmt::print("{}: built in {:.1f} s\n", metric, build);
    model->set_index(index);
    for (int ef : efs) {
      index->set_ef_search(ef);  // the same graph (a saved and reloaded copy per ef would double the memory)
      RecommendOptions approx;
      approx.k = top;
      // Exact and approximate alternate, so that both see the same machine load.
      auto ta = Clock::now();
      auto got = recommend(*model, q, approx, ctx);
      double qps = queries / since(ta);
      auto te = Clock::now();
      recommend(*model, std::vector<int32_t>(q.begin(), q.begin() + std::min(queries, 512)), exact, ctx);
      double exact_now = std::min(queries, 512) / since(te);
      double r = recall(got, truth);
      fmt::print("  ef {:>4}: recall@{} {:.4f}  {:.0f} queries/s  ({:.1f}x the exact scan run beside it)\n", ef, top, r,
                 qps, qps / exact_now);
      runs.push_back({{"metric", metric}, {"M", M}, {"ef_construction", efc}, {"ef_search", ef}, {"build_seconds", build},
                      {"recall_at_10", r}, {"qps", qps}, {"exact_qps_beside", exact_now}, {"speedup", qps / exact_now}});
    }
    model->set_index(nullptr);
  }
  json report = {{"command", command}, {"items", items}, {"users", users}, {"factors", k}, {"threads", threads},
                 {"queries", queries}, {"exact_qps", exact_qps}, {"runs", runs}};
  std::string tmp = out + ".tmp";
  std::ofstream(tmp) << report.dump(2) << "\n";
  std::rename(tmp.c_str(), out.c_str());
  return 0;
}
