// Approximate top-N against the exact scan: a synthetic factor model (item norms falling with
// popularity rank, as trained factors do), an HNSW index per metric, then queries per second and
// recall@10 at several ef_search, all on the same queries, exact and approximate in one run. Built
// with faiss (Debian's libfaiss-dev), `--metrics faiss-ivf` adds faiss's inverted-file index
// (IndexIVFFlat, inner product, `--nlist` lists, trained on a sample of the items) at several
// nprobe, on the same factors and queries; `faiss-ivf-l2-transform` the same over the
// one-extra-dimension transform with L2 lists.
//
//   build/bench/mfkit_bench_ann --items 1000000 --factors 64 --threads 2 --out bench/results/ann_1m.json
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <functional>
#include <random>
#include <set>

#ifdef MFKIT_BENCH_FAISS
#include <faiss/IndexFlat.h>
#include <faiss/IndexIVFFlat.h>
#include <omp.h>
#endif

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

#ifdef MFKIT_BENCH_FAISS
// faiss's IndexIVFFlat over the same item vectors, by inner product: a row per run of nprobe.
json faiss_ivf(const Model& model, bool transform, const std::vector<int32_t>& q,
               const std::vector<std::vector<Scored>>& truth, const std::vector<int>& nprobes, int nlist, int top,
               const Context& ctx, const std::function<double()>& exact_beside) {
  // implicit-als scores x . y: inner product over its item vectors, its user vectors as queries.
  // With `transform`, Bachrach et al.'s extra dimension turns it into a nearest-neighbour search:
  // items [y, sqrt(m^2 - |y|^2)], queries [x, 0], L2 lists (what mfkit's l2-transform does).
  int k = 0, ku = 0;
  std::vector<float> Y = model.item_vectors(&k), Xall = model.user_vectors(&ku);
  const int64_t n = model.n_items();
  if (transform) {
    double m2 = 0;
    for (int64_t i = 0; i < n; ++i) {
      double s = 0;
      for (int d = 0; d < k; ++d) s += double(Y[i * k + d]) * Y[i * k + d];
      m2 = std::max(m2, s);
    }
    std::vector<float> Z(static_cast<size_t>(n) * (k + 1)), W(Xall.size() / k * (k + 1), 0.0f);
    for (int64_t i = 0; i < n; ++i) {
      double s = 0;
      for (int d = 0; d < k; ++d) s += double(Y[i * k + d]) * Y[i * k + d], Z[i * (k + 1) + d] = Y[i * k + d];
      Z[i * (k + 1) + k] = static_cast<float>(std::sqrt(std::max(0.0, m2 - s)));
    }
    for (size_t u = 0; u < Xall.size() / k; ++u) std::copy_n(Xall.data() + u * k, k, W.data() + u * (k + 1));
    Y.swap(Z);
    Xall.swap(W);
    ++k;
  }
  omp_set_num_threads(ctx.threads);
  faiss::IndexFlatIP quantizer_ip(k);
  faiss::IndexFlatL2 quantizer_l2(k);
  faiss::IndexIVFFlat index(transform ? static_cast<faiss::Index*>(&quantizer_l2) : &quantizer_ip, k, nlist,
                            transform ? faiss::METRIC_L2 : faiss::METRIC_INNER_PRODUCT);
  auto tb = Clock::now();
  // Training on 64 items per list at most (faiss's advice is 30 to 256), drawn evenly.
  const int64_t sample = std::min<int64_t>(n, 64LL * nlist), step = n / sample;
  std::vector<float> train(static_cast<size_t>(sample) * k);
  for (int64_t s = 0; s < sample; ++s)
    std::copy_n(Y.data() + static_cast<size_t>(s * step) * k, k, train.data() + static_cast<size_t>(s) * k);
  index.train(sample, train.data());
  index.add(n, Y.data());
  const double build = since(tb);
  const std::string name = transform ? "faiss-ivf-l2-transform" : "faiss-ivf";
  fmt::print("{} (nlist {}): built in {:.1f} s\n", name, nlist, build);
  std::vector<float> X(q.size() * static_cast<size_t>(k));
  for (size_t r = 0; r < q.size(); ++r) std::copy_n(Xall.data() + static_cast<size_t>(q[r]) * k, k, X.data() + r * k);
  json rows = json::array();
  for (int nprobe : nprobes) {
    index.nprobe = nprobe;
    std::vector<float> D(q.size() * static_cast<size_t>(top));
    std::vector<faiss::Index::idx_t> I(q.size() * static_cast<size_t>(top));
    auto ta = Clock::now();
    index.search(static_cast<faiss::Index::idx_t>(q.size()), X.data(), top, D.data(), I.data());
    const double qps = static_cast<double>(q.size()) / since(ta);
    const double exact_now = exact_beside();
    std::vector<std::vector<Scored>> got(q.size());
    for (size_t r = 0; r < q.size(); ++r)
      for (int j = 0; j < top; ++j)
        if (I[r * top + j] >= 0) got[r].push_back({static_cast<int32_t>(I[r * top + j]), D[r * top + j]});
    const double rec = recall(got, truth);
    fmt::print("  nprobe {:>4}: recall@{} {:.4f}  {:.0f} queries/s  ({:.1f}x the exact scan run beside it)\n", nprobe,
               top, rec, qps, qps / exact_now);
    rows.push_back({{"metric", name},
                    {"nlist", nlist},
                    {"nprobe", nprobe},
                    {"build_seconds", build},
                    {"recall_at_10", rec},
                    {"qps", qps},
                    {"exact_qps_beside", exact_now},
                    {"speedup", qps / exact_now}});
  }
  return rows;
}
#endif

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"mfkit_bench_ann: approximate against exact top-N"};
  int32_t items = 100000, users = 20000;
  int k = 64, threads = 2, queries = 2000, top = 10;
  std::vector<int> efs{10, 20, 40, 80, 160, 320};
  std::vector<std::string> metrics{"ip", "l2-transform"};
  int M = 16, efc = 100, nlist = 0;
  std::vector<int> nprobes{1, 2, 4, 8, 16, 32, 64};
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
  app.add_option("--nlist", nlist, "faiss-ivf: inverted lists (0: 4 sqrt(items))")->capture_default_str();
  app.add_option("--nprobe", nprobes, "faiss-ivf: lists searched per query")->capture_default_str();
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
  const int beside = std::min(queries, 512);
  auto exact_beside = [&] {
    auto te = Clock::now();
    recommend(*model, std::vector<int32_t>(q.begin(), q.begin() + beside), exact, ctx);
    return beside / since(te);
  };
  for (const auto& metric : metrics) {
    if (metric == "faiss-ivf" || metric == "faiss-ivf-l2-transform") {
#ifdef MFKIT_BENCH_FAISS
      const int lists = nlist > 0 ? nlist : static_cast<int>(4 * std::sqrt(static_cast<double>(items)));
      for (auto& row : faiss_ivf(*model, metric != "faiss-ivf", q, truth, nprobes, lists, top, ctx, exact_beside))
        runs.push_back(row);
      continue;
#else
      fmt::print(stderr, "mfkit_bench_ann: built without faiss (install libfaiss-dev and configure again)\n");
      return 2;
#endif
    }
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
      double exact_now = exact_beside();
      double r = recall(got, truth);
      fmt::print("  ef {:>4}: recall@{} {:.4f}  {:.0f} queries/s  ({:.1f}x the exact scan run beside it)\n", ef, top, r,
                 qps, qps / exact_now);
      runs.push_back({{"metric", metric},
                      {"M", M},
                      {"ef_construction", efc},
                      {"ef_search", ef},
                      {"build_seconds", build},
                      {"recall_at_10", r},
                      {"qps", qps},
                      {"exact_qps_beside", exact_now},
                      {"speedup", qps / exact_now}});
    }
    model->set_index(nullptr);
  }
  json report = {{"command", command}, {"items", items},     {"users", users},         {"factors", k},
                 {"threads", threads}, {"queries", queries}, {"exact_qps", exact_qps}, {"runs", runs}};
  std::string tmp = out + ".tmp";
  std::ofstream(tmp) << report.dump(2) << "\n";
  std::rename(tmp.c_str(), out.c_str());
  return 0;
}
