// mfkit meta-train / impute: meta-learned MF for matrices never seen before.
#include <fmt/format.h>

#include <fstream>
#include <memory>

#include "cli/common.h"
#include "io/atomic_file.h"
#include "mfkit/error.h"
#include "mfkit/meta.h"
#include "mfkit/params.h"

namespace mfkit::cli {

namespace {

struct MetaTrainArgs {
  Common common;
  DataOptions data;
  std::string out, config;
  std::vector<std::string> sets, episode_sets;
  std::vector<double> report_ratios = {0.1, 0.3, 0.5};
  int test_episodes = 100;
};

void run_meta_train(const MetaTrainArgs& a) {
  if (!a.out.empty()) check_writable(a.out, "model file");
  MetaMfParams p;
  params_from_json(p, parse_key_values(a.sets), "meta-mf");
  EpisodeSpec spec;
  params_from_json(spec, parse_key_values(a.episode_sets), "--episode");
  spec.validate();
  // One or more datasets (comma-separated names): episodes are drawn from each in turn.
  std::vector<LoadResult> loaded;
  std::vector<const Interactions*> sets;
  std::string names = a.data.data;
  for (size_t start = 0; start <= names.size();) {
    size_t comma = names.find(',', start);
    if (comma == std::string::npos) comma = names.size();
    TrainJob job;
    DataOptions one = a.data;
    one.data = names.substr(start, comma - start);
    if (one.data.empty()) throw ParamError("--data: an empty dataset name in '" + names + "'");
    apply_data(one, job);
    loaded.push_back(load_job_data(job));
    start = comma + 1;
  }
  for (const auto& l : loaded) sets.push_back(&l.data);
  EpisodeSource src(sets, a.common.seed);
  MetaMf model(p);
  Context ctx{a.common.threads, a.common.seed};
  double best = model.meta_train(src, spec, ctx, [&](const MetaTrainInfo& i) {
    if (!a.common.quiet)
      fmt::print(stderr, "meta-mf step {:>6}  train rmse {:.4f}  valid rmse {:.4f}  {:.0f} s\n", i.step, i.train_rmse,
                 i.valid_rmse, i.seconds);
    return true;
  });
  // Meta-test: matrices whose rows and columns were never seen, at several observation ratios.
  nlohmann::json test = nlohmann::json::object();
  std::mt19937_64 rng(a.common.seed + 99);
  for (double r : a.report_ratios) {
    double s = 0, base = 0;
    for (int k = 0; k < a.test_episodes; ++k) {
      Episode e = src.sample(EpisodeSource::kTest, spec, rng, r);
      s += model.rmse(e);
      base += query_rmse(e, baseline_mean(e, true));
    }
    test[fmt::format("{:.2f}", r)] = {{"meta_mf_rmse", s / a.test_episodes},
                                      {"item_mean_rmse", base / a.test_episodes}};
  }
  nlohmann::json meta = {
      {"dataset", a.data.data}, {"episodes", params_to_json(spec)}, {"valid_rmse", best}, {"test", test}};
  if (!a.out.empty()) model.save(a.out, meta);
  meta["learned"] = model.learned();
  if (a.common.json) return print_json(meta);
  fmt::print("meta-mf on {}: best meta-validation RMSE {:.4f}\n", a.data.data, best);
  for (auto it = test.begin(); it != test.end(); ++it)
    fmt::print("  meta-test, {:>3.0f}% observed: RMSE {:.4f} (item mean {:.4f})\n", std::stod(it.key()) * 100,
               it.value()["meta_mf_rmse"].get<double>(), it.value()["item_mean_rmse"].get<double>());
  if (!a.out.empty()) fmt::print("saved {}\n", a.out);
}

struct ImputeArgs {
  Common common;
  DataOptions data;
  std::string model_file, out;
  bool all = false;
};

void run_impute(const ImputeArgs& a) {
  MetaMf model = MetaMf::load(a.model_file);
  TrainJob job;
  apply_data(a.data, job);
  LoadResult data = load_job_data(job);
  const Interactions& m = data.data;
  const int64_t cells = int64_t(m.n_users()) * m.n_items();
  if (cells > 50'000'000)
    throw ParamError(fmt::format("impute: the matrix has {} x {} = {} cells; at most 50,000,000 are imputed at once",
                                 m.n_users(), m.n_items(), cells));
  Episode e = episode_from(m);
  std::vector<float> full = model.impute(e);
  std::vector<char> seen(static_cast<size_t>(cells), 0);
  for (size_t k = 0; k < e.s_rows.size(); ++k) seen[size_t(e.s_rows[k]) * m.n_items() + e.s_cols[k]] = 1;
  std::ofstream file;
  if (!a.out.empty()) {
    file.open(a.out + ".tmp");
    if (!file) throw InputError(a.out, 0, "cannot write");
  }
  std::ostream& os = a.out.empty() ? std::cout : file;
  os << "user,item,prediction\n";
  int64_t written = 0;
  for (int32_t u = 0; u < m.n_users(); ++u)
    for (int32_t i = 0; i < m.n_items(); ++i) {
      size_t c = size_t(u) * m.n_items() + i;
      if (seen[c] && !a.all) continue;
      os << m.user_ids()->name(u) << ',' << m.item_ids()->name(i) << ',' << fmt::format("{:.4f}", full[c]) << '\n';
      ++written;
    }
  if (!a.out.empty()) {
    file.close();
    if (!file || std::rename((a.out + ".tmp").c_str(), a.out.c_str()) != 0) throw InputError(a.out, 0, "cannot write");
    if (!a.common.quiet)
      fmt::print(stderr, "imputed {} cells of a {} x {} matrix ({} observed) into {}\n", written, m.n_users(),
                 m.n_items(), e.s_vals.size(), a.out);
  }
}

}  // namespace

void add_meta_train(CLI::App& app) {
  auto a = std::make_shared<MetaTrainArgs>();
  auto* c = app.add_subcommand(
      "meta-train", "meta-learn MF across episodes (sub-matrices with disjoint rows and columns) of a dataset");
  add_data(c, a->data, true);
  c->add_option("--out,-o", a->out, "model file to write");
  c->add_option("--set", a->sets, "meta-mf parameter key=value (repeatable; see docs/meta-mf.md)")->take_all();
  c->add_option("--episode", a->episode_sets,
                "episode shape key=value: min_rows, max_rows, min_cols, max_cols, observed")
      ->take_all();
  c->add_option("--test-episodes", a->test_episodes, "meta-test episodes per reported ratio")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  add_common(c, a->common);
  c->callback([a] { run_meta_train(*a); });
}

void add_impute(CLI::App& app) {
  auto a = std::make_shared<ImputeArgs>();
  auto* c =
      app.add_subcommand("impute", "fill in a matrix never seen before from its observed entries (meta-mf model)");
  add_model_file(c, a->model_file, "`mfkit meta-train`");
  add_old_spelling(c, "--model", a->model_file, "-f/--model-file");
  add_data(c, a->data, true);
  c->add_option("--out,-o", a->out, "CSV to write (default: stdout): user,item,prediction");
  c->add_flag("--all", a->all, "also write the observed cells (their fitted values)");
  add_common(c, a->common);
  c->callback([a] {
    if (a->model_file.empty()) throw ParamError("impute: give the model file, -f/--model-file FILE");
    run_impute(*a);
  });
}

}  // namespace mfkit::cli
