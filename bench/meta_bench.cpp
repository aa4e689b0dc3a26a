// meta-mf against per-matrix baselines on the same meta-test episodes (Iwata 2021's setting):
// sub-matrices whose rows and columns never appear in meta-training, at several observation
// ratios, per dataset and across datasets (meta-trained on one, tested on another).
//
//   build/bench/mfkit_bench_meta --datasets ml-100k,ml-latest-small --seeds 3
//       --cross ml-100k:ml-latest-small --out bench/results/meta.json   (one command line)
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>

#include "mfkit/data.h"
#include "mfkit/meta.h"
#include "mfkit/params.h"

using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

struct Stats {
  std::vector<double> all;                  // one RMSE per (seed, episode)
  std::map<int, std::vector<double>> seed;  // per seed
  void add(int s, double r) { all.push_back(r), seed[s].push_back(r); }
  static std::pair<double, double> mean_sd(const std::vector<double>& v) {
    double m = 0, q = 0;
    for (double x : v) m += x;
    m /= std::max<size_t>(1, v.size());
    for (double x : v) q += (x - m) * (x - m);
    return {m, v.size() > 1 ? std::sqrt(q / (v.size() - 1)) : 0.0};
  }
  json to_json() const {
    auto [m, sd] = mean_sd(all);
    std::vector<double> means;
    for (const auto& [s, v] : seed) means.push_back(mean_sd(v).first);
    auto [mm, msd] = mean_sd(means);
    return {{"rmse", m}, {"sd_over_matrices", sd}, {"sd_over_seeds", msd}, {"n", all.size()}, {"seed_means", means}};
  }
};

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"meta-mf benchmark: meta-test RMSE against per-matrix baselines"};
  std::vector<std::string> datasets = {"ml-100k", "ml-latest-small"}, cross = {"ml-100k:ml-latest-small"};
  std::vector<double> ratios = {0.1, 0.3, 0.5};
  std::vector<std::string> sets;
  int seeds = 3, test_episodes = 100, nnmf_episodes = 20, tune_episodes = 30;
  std::string out = "bench/results/meta.json";
  bool no_nnmf = false;
  app.add_option("--datasets", datasets, "datasets meta-trained and tested on")->delimiter(',');
  app.add_option("--cross", cross, "TRAIN:TEST pairs: meta-trained on TRAIN, tested on TEST's episodes")
      ->delimiter(',');
  app.add_option("--ratios", ratios, "observation ratios of the meta-test episodes")->delimiter(',');
  app.add_option("--seeds", seeds, "seeds (disjoint parts, training, episodes)")->capture_default_str();
  app.add_option("--test-episodes", test_episodes, "meta-test episodes per ratio and seed")->capture_default_str();
  app.add_option("--nnmf-episodes", nnmf_episodes, "of which NNMF per matrix is fitted on the first N (it is slow)")
      ->capture_default_str();
  app.add_option("--tune-episodes", tune_episodes, "meta-validation episodes for tuning the MF baseline's lambda")
      ->capture_default_str();
  app.add_option("--set", sets, "meta-mf parameter key=value for every variant")->take_all();
  app.add_flag("--no-nnmf", no_nnmf, "skip the NNMF baseline");
  app.add_option("--out", out, "JSON file to write")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  cross.erase(
      std::remove_if(cross.begin(), cross.end(), [](const std::string& c) { return c.find(':') == std::string::npos; }),
      cross.end());
  std::string command;
  for (int a = 0; a < argc; ++a) command += (a ? " " : "") + std::string(argv[a]);

  mfkit::MetaMfParams base;
  mfkit::params_from_json(base, mfkit::parse_key_values(sets), "--set");
  mfkit::EpisodeSpec spec;
  const std::vector<double> lambdas = {0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0};
  mfkit::Context one{1, 1};

  std::map<std::string, mfkit::LoadResult> data;
  auto get = [&](const std::string& name) -> const mfkit::Interactions& {
    if (!data.count(name)) data[name] = mfkit::load_data(name, std::nullopt);
    return data[name].data;
  };
  // (train, test) dataset pairs, and the datasets meta-trained on and tested on.
  std::vector<std::pair<std::string, std::string>> pairs;
  for (const auto& c : cross) pairs.push_back({c.substr(0, c.find(':')), c.substr(c.find(':') + 1)});
  std::vector<std::string> test_sets = datasets, train_sets = datasets;
  auto add_once = [](std::vector<std::string>& v, const std::string& x) {
    if (std::find(v.begin(), v.end(), x) == v.end()) v.push_back(x);
  };
  for (const auto& [a, b] : pairs) add_once(train_sets, a), add_once(test_sets, b);

  // results[test dataset][ratio][method] -> Stats
  std::map<std::string, std::map<std::string, std::map<std::string, Stats>>> results;
  json training = json::array(), chosen = json::array();
  for (int seed = 1; seed <= seeds; ++seed) {
    // Meta-train the three meta-learned variants on every training dataset.
    std::map<std::string, std::map<std::string, std::unique_ptr<mfkit::MetaMf>>> trained;
    std::map<std::string, std::unique_ptr<mfkit::EpisodeSource>> sources;
    for (const auto& d : test_sets) sources[d] = std::make_unique<mfkit::EpisodeSource>(get(d), seed);
    for (const auto& d : train_sets) {
      if (!sources.count(d)) sources[d] = std::make_unique<mfkit::EpisodeSource>(get(d), seed);
      for (const std::string variant : {"meta-mf", "maml", "prior"}) {
        mfkit::MetaMfParams p = base;
        if (variant == std::string("maml")) p.encoder = false;
        if (variant == std::string("prior")) p.steps = 0;
        auto m = std::make_unique<mfkit::MetaMf>(p);
        auto t0 = Clock::now();
        int steps = 0;
        double best =
            m->meta_train(*sources[d], spec, {1, static_cast<uint64_t>(seed)}, [&](const mfkit::MetaTrainInfo& i) {
              steps = i.step;
              return true;
            });
        double secs = seconds_since(t0);
        fmt::print("seed {} {} {}: valid {:.4f} after {} steps, {:.0f} s {}\n", seed, d, variant, best, steps, secs,
                   m->learned().dump());
        std::fflush(stdout);
        training.push_back({{"seed", seed},
                            {"dataset", d},
                            {"method", variant},
                            {"valid_rmse", best},
                            {"steps", steps},
                            {"seconds", secs},
                            {"learned", m->learned()}});
        trained[d][variant] = std::move(m);
      }
    }
    // Evaluate on each test dataset's meta-test episodes.
    for (const auto& d : test_sets) {
      const auto& src = *sources[d];
      for (double r : ratios) {
        std::string rk = fmt::format("{:.2f}", r);
        // lambda of per-matrix MF, tuned on meta-validation episodes at this ratio.
        std::mt19937_64 trng(seed * 1000 + static_cast<uint64_t>(r * 100) + 7);
        std::vector<mfkit::Episode> tune;
        for (int k = 0; k < tune_episodes; ++k) tune.push_back(src.sample(mfkit::EpisodeSource::kValid, spec, trng, r));
        double best_l = lambdas[0], best_r = 1e9;
        for (double l : lambdas) {
          double s = 0;
          for (const auto& e : tune) s += mfkit::query_rmse(e, mfkit::baseline_mf(e, base.factors, l, one));
          if (s < best_r) best_r = s, best_l = l;
        }
        std::mt19937_64 rng(seed * 1000 + static_cast<uint64_t>(r * 100));
        auto& res = results[d][rk];
        for (int k = 0; k < test_episodes; ++k) {
          mfkit::Episode e = src.sample(mfkit::EpisodeSource::kTest, spec, rng, r);
          if (e.q_vals.empty()) continue;
          res["user mean"].add(seed, mfkit::query_rmse(e, mfkit::baseline_mean(e, false)));
          res["item mean"].add(seed, mfkit::query_rmse(e, mfkit::baseline_mean(e, true)));
          res["MF per matrix (ALS, tuned lambda)"].add(
              seed, mfkit::query_rmse(e, mfkit::baseline_mf(e, base.factors, best_l, one)));
          if (!no_nnmf && k < nnmf_episodes)
            res["NNMF per matrix"].add(seed, mfkit::query_rmse(e, mfkit::baseline_nnmf(e, one)));
          if (trained.count(d)) {
            res["meta-mf"].add(seed, trained[d]["meta-mf"]->rmse(e));
            res["MAML-style shared init"].add(seed, trained[d]["maml"]->rmse(e));
            res["encoder prior alone (T=0)"].add(seed, trained[d]["prior"]->rmse(e));
          }
          for (const auto& [a, b] : pairs) {
            if (b != d) continue;
            res["meta-mf trained on " + a].add(seed, trained[a]["meta-mf"]->rmse(e));
            res["MAML-style trained on " + a].add(seed, trained[a]["maml"]->rmse(e));
          }
        }
        chosen.push_back({{"seed", seed}, {"dataset", d}, {"ratio", r}, {"lambda", best_l}});
        fmt::print("seed {} {} {:.0f}%: lambda {} | ", seed, d, r * 100, best_l);
        for (const auto& [m, st] : res) fmt::print("{} {:.4f}  ", m, Stats::mean_sd(st.seed.at(seed)).first);
        fmt::print("\n");
        std::fflush(stdout);
      }
    }
  }
  // Paired with MF per matrix on the same episodes: mean difference (negative = better) and its
  // standard error, and the share of matrices where the method is better.
  const std::string mf = "MF per matrix (ALS, tuned lambda)";
  json table = json::object();
  for (const auto& [d, by_ratio] : results)
    for (const auto& [r, by_method] : by_ratio)
      for (const auto& [m, st] : by_method) {
        json x = st.to_json();
        const auto& base_all = by_method.at(mf).all;
        if (m != mf && st.all.size() == base_all.size()) {
          std::vector<double> diff(st.all.size());
          int wins = 0;
          for (size_t k = 0; k < diff.size(); ++k) diff[k] = st.all[k] - base_all[k], wins += diff[k] < 0;
          auto [md, sd] = Stats::mean_sd(diff);
          x["vs_mf"] = {{"mean_diff", md},
                        {"se", sd / std::sqrt(double(diff.size()))},
                        {"better_share", double(wins) / diff.size()}};
        }
        table[d][r][m] = x;
      }
  mfkit::MetaMfParams shown = base;
  json j = {{"command", command},
            {"params", mfkit::params_to_json(shown)},
            {"episodes", mfkit::params_to_json(spec)},
            {"results", table},
            {"training", training},
            {"mf_lambda", chosen}};
  std::filesystem::create_directories(
      std::filesystem::path(out).parent_path().empty() ? "." : std::filesystem::path(out).parent_path());
  std::ofstream(out) << j.dump(2) << "\n";
  fmt::print("wrote {}\n", out);
  return 0;
}
