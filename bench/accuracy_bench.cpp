// Accuracy benchmark: each model on each dataset over seeded splits; writes JSON with the mean
// and sd of every test metric (RMSE/MAE for rating models, ranking metrics for implicit ones),
// training time, entries/s, peak memory and the command.
//
//   build/bench/mfkit_bench_accuracy --datasets ml-100k,ml-1m --models biased-mf,als --seeds 5
//       --threads 2 --out bench/results/rmse.json   (one command)
#include <fmt/format.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <CLI/CLI.hpp>

#include <cmath>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <map>

#include "mfkit/error.h"
#include "mfkit/experiment.h"

namespace {

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t p = s.find(',', start);
    std::string x = s.substr(start, p == std::string::npos ? std::string::npos : p - start);
    if (!x.empty()) out.push_back(x);
    if (p == std::string::npos) break;
    start = p + 1;
  }
  return out;
}

double peak_rss_mb() {
  rusage u;
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss / 1024.0;
}

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  return "unknown";
}

struct Stats {
  double mean = 0, sd = 0;
};
Stats stats(const std::vector<double>& v) {
  Stats s;
  for (double x : v) s.mean += x;
  s.mean /= v.size();
  for (double x : v) s.sd += (x - s.mean) * (x - s.mean);
  s.sd = v.size() > 1 ? std::sqrt(s.sd / (v.size() - 1)) : 0;
  return s;
}

}  // namespace

// The report as JSON, written atomically (a temporary file, then renamed).
static bool write_report(const nlohmann::json& report, const std::string& out) {
  const std::string tmp = out + ".tmp";
  {
    std::ofstream f(tmp);
    if (!(f << report.dump(2) << "\n")) {
      fmt::print(stderr, "mfkit_bench_rmse: cannot write {}\n", tmp);
      return false;
    }
  }
  if (std::rename(tmp.c_str(), out.c_str()) != 0) {
    fmt::print(stderr, "mfkit_bench_rmse: cannot rename {} to {}\n", tmp, out);
    return false;
  }
  return true;
}

int main(int argc, char** argv) {
  CLI::App app{"mfkit accuracy benchmark: test metrics over seeded splits"};
  std::string datasets = "ml-100k,ml-1m", models = "biased-mf,als", out = "bench/results/rmse.json",
              split = "random:0.9";
  int seeds = 5, threads = 2, first_seed = 1;
  double valid = 0;
  bool binarize = false;
  std::vector<std::string> sets;
  app.add_option("--datasets", datasets, "comma-separated dataset names or files")->capture_default_str();
  app.add_option("--models", models, "comma-separated model[:preset] entries")->capture_default_str();
  app.add_option("--seeds", seeds, "splits (seeds first..first+N-1)")->check(CLI::Range(1, 100))->capture_default_str();
  app.add_option("--first-seed", first_seed, "first seed (to spread the seeds of one table over processes)")
      ->check(CLI::Range(1, 1000000))
      ->capture_default_str();
  app.add_option("--threads", threads, "threads")->check(CLI::Range(1, 256))->capture_default_str();
  app.add_option("--split", split, "split spec")->capture_default_str();
  app.add_option("--valid", valid, "validation fraction carved from train")->capture_default_str();
  app.add_option("--set", sets, "model:key=value or model:preset:key=value parameter override (repeatable)");
  app.add_flag("--binarize", binarize, "read every value as 1");
  bool curve = false;
  app.add_flag("--curve", curve, "record test RMSE after every epoch against seconds (a time-to-quality curve)");
  app.add_option("--out", out, "JSON file to write")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  std::string command;
  for (int i = 0; i < argc; ++i) command += (i ? " " : "") + std::string(argv[i]);
  utsname un;
  uname(&un);
  nlohmann::json report = {
      {"command", command},
      {"created_unix", static_cast<int64_t>(std::time(nullptr))},
      {"machine", {{"cpu", cpu_model()}, {"cores", sysconf(_SC_NPROCESSORS_ONLN)}, {"kernel", un.release}}},
      {"results", nlohmann::json::array()}};
  try {
    for (const auto& ds : split_list(datasets)) {
      for (const auto& entry : split_list(models)) {
        std::string model = entry.substr(0, entry.find(':'));
        std::string preset = entry.find(':') == std::string::npos ? "" : entry.substr(entry.find(':') + 1);
        nlohmann::json params = nlohmann::json::object();
        for (const auto& s : sets) {
          // "entry:key=value" where entry is the whole model[:preset] entry.
          auto eq = s.find('=');
          auto colon = s.rfind(':', eq);
          if (colon != std::string::npos && s.substr(0, colon) == entry)
            params.update(mfkit::parse_key_values({s.substr(colon + 1)}));
        }
        std::map<std::string, std::vector<double>> metrics;
        std::vector<double> secs, rate;
        nlohmann::json runs = nlohmann::json::array(), used_params;
        for (int seed = first_seed; seed < first_seed + seeds; ++seed) {
          mfkit::TrainJob job;
          job.model = model;
          job.preset = preset;
          job.params = params;
          job.data = ds;
          job.split = split;
          job.valid = valid;
          job.load.binarize = binarize;
          job.curve = curve;
          job.ctx = {threads, static_cast<uint64_t>(seed)};
          nlohmann::json r = mfkit::run_train_job(job);
          used_params = r["params"];
          for (auto it = r["test"].begin(); it != r["test"].end(); ++it)
            if (it.value().is_number_float()) metrics[it.key()].push_back(it.value().get<double>());
          secs.push_back(r["train_seconds"]);
          rate.push_back(r["n_train"].get<double>() * r["epochs"].get<double>() / r["train_seconds"].get<double>());
          runs.push_back({{"seed", seed},
                          {"test", r["test"]},
                          {"train_seconds", secs.back()},
                          {"epochs", r["epochs"]},
                          {"split", r["split"]}});
          if (r.contains("valid")) runs.back()["valid"] = r["valid"];
          if (r.contains("curve")) runs.back()["curve"] = r["curve"];
          fmt::print(stderr, "{} {} seed {}: {}{} in {:.2f}s\n", ds, entry, seed, r["test"].dump(),
                     r.contains("valid") ? " valid " + r["valid"].dump() : "", secs.back());
        }
        Stats t = stats(secs), q = stats(rate);
        nlohmann::json res = {{"dataset", ds},
                              {"model", model},
                              {"preset", preset},
                              {"params", used_params},
                              {"train_seconds_mean", t.mean},
                              {"entries_per_second", q.mean},
                              {"peak_rss_mb_process", peak_rss_mb()},
                              {"runs", runs}};
        std::string line;
        for (const auto& [name, values] : metrics) {
          Stats s = stats(values);
          res[name + "_mean"] = s.mean;
          res[name + "_sd"] = s.sd;
          line += fmt::format("  {} {:.4f} ± {:.4f}", name, s.mean, s.sd);
        }
        report["results"].push_back(res);
        fmt::print("{:<14} {:<22}{}  {:.2f} s\n", ds, entry, line, t.mean);
        // After every model, so that a later failure (or a long run stopped) keeps what ran.
        if (!write_report(report, out)) return 1;
      }
    }
  } catch (const mfkit::Error& e) {
    fmt::print(stderr, "mfkit_bench_rmse: error: {}{}\n", e.what(),
               report["results"].empty() ? "" : " (the models before it are in " + out + ")");
    return 1;
  }
  fmt::print("wrote {}\n", out);
  return 0;
}
