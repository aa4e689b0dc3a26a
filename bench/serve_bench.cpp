// mfkit serve under load on loopback: a bounded C++ client (closed loop, keep-alive
// connections) against /v1/recommend for a 10k-item catalogue, then the same load while the
// model file is replaced every 250 ms. Writes requests/s and client-side latency percentiles.
//
//   build/bench/mfkit_bench_serve --out bench/results/serve.json
#include <fmt/format.h>
#include <httplib.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include "mfkit/index.h"
#include "mfkit/model_file.h"
#include "mfkit/registry.h"
#include "mfkit/serve.h"
#include "synthetic_implicit.h"

using Clock = std::chrono::steady_clock;
using nlohmann::json;

namespace {

struct LoadResult {
  int64_t ok = 0, failed = 0;
  double seconds = 0;
  std::vector<double> latency_us;
};

LoadResult run_load(int port, int connections, double seconds, int32_t n_users, int k,
                    const std::function<void()>& during) {
  std::atomic<bool> done{false};
  std::vector<LoadResult> parts(connections);
  std::vector<std::thread> threads;
  auto t0 = Clock::now();
  for (int c = 0; c < connections; ++c)
    threads.emplace_back([&, c] {
      httplib::Client cli("127.0.0.1", port);
      cli.set_keep_alive(true);
      cli.set_tcp_nodelay(true);
      std::mt19937 rng(c + 1);
      std::uniform_int_distribution<int32_t> user(0, n_users - 1);
      LoadResult& r = parts[c];
      r.latency_us.reserve(200000);
      while (!done.load(std::memory_order_relaxed)) {
        std::string path = "/v1/recommend?k=" + std::to_string(k) + "&user=" + std::to_string(user(rng));
        auto s = Clock::now();
        auto res = cli.Get(path);
        r.latency_us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - s).count());
        (res && res->status == 200 ? r.ok : r.failed)++;
      }
    });
  std::thread side([&] {
    if (during) during();
  });
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  done = true;
  for (auto& t : threads) t.join();
  side.join();
  LoadResult all;
  all.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  for (auto& p : parts) {
    all.ok += p.ok;
    all.failed += p.failed;
    all.latency_us.insert(all.latency_us.end(), p.latency_us.begin(), p.latency_us.end());
  }
  std::sort(all.latency_us.begin(), all.latency_us.end());
  return all;
}

double pct(const std::vector<double>& v, double q) {
  if (v.empty()) return 0;
  return v[std::min(v.size() - 1, static_cast<size_t>(q * (v.size() - 1)))];
}

json summary(const LoadResult& r) {
  return {{"requests", r.ok + r.failed},
          {"failed", r.failed},
          {"seconds", r.seconds},
          {"requests_per_s", (r.ok + r.failed) / r.seconds},
          {"p50_ms", pct(r.latency_us, 0.50) / 1000},
          {"p90_ms", pct(r.latency_us, 0.90) / 1000},
          {"p99_ms", pct(r.latency_us, 0.99) / 1000},
          {"max_ms", r.latency_us.empty() ? 0 : r.latency_us.back() / 1000}};
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"mfkit serve load test (loopback)"};
  int connections = 8, server_threads = 8, items = 10000, users = 20000, factors = 64, k = 10;
  double seconds = 10;
  bool index = false, reloads = true;
  std::string out = "bench/results/serve.json";
  app.add_option("--connections", connections, "concurrent keep-alive client connections")->capture_default_str();
  app.add_option("--server-threads", server_threads, "server worker threads")->capture_default_str();
  app.add_option("--items", items, "catalogue size")->capture_default_str();
  app.add_option("--users", users, "users")->capture_default_str();
  app.add_option("--factors", factors, "model factors")->capture_default_str();
  app.add_option("--k", k, "items per request")->capture_default_str();
  app.add_option("--seconds", seconds, "duration of each phase")->capture_default_str();
  app.add_option("--out", out, "JSON file to write")->capture_default_str();
  app.add_flag("--index", index, "store an HNSW index (default parameters) in the served model");
  app.add_flag("!--no-reloads", reloads, "skip the phase that replaces the model file under load");
  CLI11_PARSE(app, argc, argv);

  std::string command;
  for (int a = 0; a < argc; ++a) command += (a ? " " : "") + std::string(argv[a]);
  auto dir = std::filesystem::temp_directory_path() / ("mfkit-serve-bench-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::string model_path = (dir / "model.mfk").string();

  auto data = mfkit::bench::synthetic_implicit(users, items, int64_t(users) * 40, 7);
  auto fit_and_save = [&](const std::string& path, uint64_t seed) {
    auto model = mfkit::create_model("implicit-als", "", {{"factors", factors}, {"iterations", 3}});
    mfkit::FitOptions fo;
    fo.ctx = {2, seed};
    model->fit(data, fo);
    if (index) model->set_index(mfkit::ItemIndex::build(*model, mfkit::IndexParams{}, fo.ctx));
    mfkit::save_model(*model, path);
  };
  fit_and_save(model_path, 1);
  std::string spare = (dir / "spare.mfk").string();
  if (reloads) fit_and_save(spare, 2);

  mfkit::ServeOptions o;
  o.port = 0;
  o.models = {{"bench", model_path}};
  o.threads = server_threads;
  o.reload_ms = 100;
  o.quiet = true;
  mfkit::Server server(o);
  std::thread srv([&] { server.run(); });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));

  run_load(server.port(), connections, 1.0, users, k, nullptr);  // warm-up
  LoadResult steady = run_load(server.port(), connections, seconds, users, k, nullptr);
  std::atomic<int> swaps{0};
  LoadResult reloading;
  if (reloads)
    reloading = run_load(server.port(), connections, seconds, users, k, [&] {
      auto end = Clock::now() + std::chrono::duration<double>(seconds - 0.5);
      while (Clock::now() < end) {
        std::this_thread::sleep_for(std::chrono::milliseconds(250));
        std::string tmp = (dir / "swap.mfk").string();
        std::filesystem::copy_file(swaps % 2 ? model_path : spare, tmp,
                                   std::filesystem::copy_options::overwrite_existing);
        std::filesystem::rename(tmp, model_path);  // a new inode renamed into place
        ++swaps;
      }
    });
  json metrics = server.service().metrics();
  server.stop();
  srv.join();
  std::filesystem::remove_all(dir);

  json r = {{"command", command},
            {"setup",
             {{"items", items},
              {"users", users},
              {"factors", factors},
              {"k", k},
              {"index", index ? "hnsw" : "none"},
              {"connections", connections},
              {"server_threads", server_threads},
              {"cores", std::thread::hardware_concurrency()},
              {"client", "in-process httplib clients on loopback, closed loop, keep-alive"}}},
            {"steady", summary(steady)},
            {"during_reloads", reloads ? summary(reloading) : json(nullptr)},
            {"model_swaps", swaps.load()},
            {"server_reloads", metrics["reloads"]},
            {"server_side_latency_us", metrics["endpoints"]["recommend"]["latency_us"]}};
  std::filesystem::create_directories(
      std::filesystem::path(out).parent_path().empty() ? "." : std::filesystem::path(out).parent_path());
  std::ofstream(out) << r.dump(2) << "\n";
  fmt::print("{}\n", r.dump(2));
  return 0;
}
