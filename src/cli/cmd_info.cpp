// mfkit models / data / demo.
#include <fmt/format.h>
#include <chrono>

#include <unistd.h>

#include <cstdio>
#include <memory>

#include "cli/common.h"
#include "cli/progress.h"
#include "data/charts.h"
#include "mfkit/data.h"
#include "mfkit/error.h"
#include "mfkit/query.h"
#include "mfkit/registry.h"
#include "mfkit/store.h"

namespace mfkit::cli {

namespace {

void run_models(const Common& c) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& e : model_registry()) {
    nlohmann::json params = nlohmann::json::array();
    for (const auto& p : e.describe())
      params.push_back({{"name", p.name},
                        {"type", p.type},
                        {"default", p.default_value},
                        {"allowed", p.allowed()},
                        {"help", p.help}});
    nlohmann::json presets = nlohmann::json::object();
    for (const auto& [n, v] : e.presets) presets[n] = v;
    out.push_back({{"name", e.name}, {"summary", e.summary}, {"params", params}, {"presets", presets}});
  }
  if (c.json) {
    print_json(out);
    return;
  }
  for (const auto& m : out) {
    fmt::print("{}\n  {}\n", m["name"].get<std::string>(), m["summary"].get<std::string>());
    for (const auto& p : m["params"])
      fmt::print("    {:<14} {:<6} default {:<8} {:<18} {}\n", p["name"].get<std::string>(),
                 p["type"].get<std::string>(), p["default"].dump(), p["allowed"].get<std::string>(),
                 p["help"].get<std::string>());
    for (auto it = m["presets"].begin(); it != m["presets"].end(); ++it)
      fmt::print("    preset {}: {}\n", it.key(), it.value().dump());
  }
}

void run_data_list(const Common& c) {
  nlohmann::json out = nlohmann::json::array();
  std::string dir = data_dir();
  for (const auto& s : datasets()) {
    auto src = find_dataset(s, dir);
    out.push_back({{"name", s.name},
                   {"description", s.description},
                   {"present", src.has_value()},
                   {"path", src ? src->path : ""},
                   {"url", s.url},
                   {"checksum", s.checksum}});
  }
  if (c.json) {
    print_json({{"data_dir", dir}, {"datasets", out}});
    return;
  }
  fmt::print("data dir: {} (set MFKIT_DATA_DIR to change)\n", dir);
  for (const auto& d : out)
    fmt::print("  {:<16} {:<8} {}\n", d["name"].get<std::string>(), d["present"].get<bool>() ? "present" : "absent",
               d["description"].get<std::string>());
}

void run_data_get(const std::string& name, const std::string& url, const std::string& dir_opt, int timeout) {
  const DatasetSpec& spec = dataset_spec(name);
  std::string dir = dir_opt.empty() ? data_dir() : dir_opt;
  if (spec.url.empty() && url.empty())
    throw NotFoundError(name + " has no official archive to download; put its files under " + dir + "/" +
                        spec.sources.front().path);
  if (auto src = find_dataset(spec, dir)) {
    fmt::print("{} is already present: {}\n", name, src->path);
    return;
  }
  fmt::print(stderr, "downloading {} from {} ...\n", name, url.empty() ? spec.url : url);
  fetch_dataset(spec, dir, url, timeout);
  auto src = find_dataset(spec, dir);
  if (!src) throw Error("the archive of " + name + " did not contain " + spec.sources.front().path);
  fmt::print("{} verified ({}) and unpacked: {}\n", name, spec.checksum.substr(0, spec.checksum.find(':')), src->path);
}

void run_data_info(const DataOptions& d, const Common& c) {
  TrainJob job;
  apply_data(d, job);
  job.ctx.threads = c.threads;
  auto t0 = std::chrono::steady_clock::now();
  LoadResult r = load_job_data(job);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const Interactions& m = r.data;
  double density = static_cast<double>(m.nnz()) / (static_cast<double>(m.n_users()) * m.n_items());
  const auto& v = m.by_user().values;
  nlohmann::json out = {{"data", d.data},
                        {"users", m.n_users()},
                        {"items", m.n_items()},
                        {"interactions", m.nnz()},
                        {"density", density},
                        {"mean_value", m.mean_value()},
                        {"min_value", *std::min_element(v.begin(), v.end())},
                        {"max_value", *std::max_element(v.begin(), v.end())},
                        {"timestamps", m.has_times()},
                        {"duplicates_merged", m.duplicates_merged()},
                        {"skipped_lines", r.skipped},
                        {"load_seconds", seconds}};
  if (c.json) {
    print_json(out);
    return;
  }
  for (auto it = out.begin(); it != out.end(); ++it) fmt::print("{:<18} {}\n", it.key(), it.value().dump());
  for (const auto& p : r.problems) fmt::print("skipped: {}\n", p);
}

// One row of the demo's table: a model's name, its figures and its time.
void demo_row(const std::string& name, const std::string& figures, double seconds) {
  fmt::print("  {:<34} {:<34} {:>8.2f}\n", name, figures, seconds);
}

// Trains `model` (with `preset` when it has one) as one demo row; returns the job's report.
nlohmann::json demo_job(const Common& c, const std::string& model, const std::string& preset, const std::string& data,
                        const std::string& split, bool binarize) {
  const ModelEntry& e = model_entry(model);
  TrainJob job;
  job.model = model;
  job.data = data;
  job.split = split;
  job.load.binarize = binarize;
  if (e.presets.count(preset)) job.preset = preset;
  job.ctx = {c.threads, c.seed};
  Progress progress(model, c.quiet || c.json || !::isatty(STDERR_FILENO));  // a bar on a terminal only
  job.on_epoch = progress.callback();
  nlohmann::json r = run_train_job(job);
  progress.finish();
  if (!job.preset.empty()) r["preset"] = job.preset;
  return r;
}

std::string demo_name(const nlohmann::json& r) {
  return r["model"].get<std::string>() + (r.contains("preset") ? " --preset " + r["preset"].get<std::string>() : "");
}

// Country arithmetic on spotify-charts (or a generated chart): implicit-als --preset dotify,
// then one expression, its answers and the countries whose charts hold them.
nlohmann::json demo_arithmetic(const Common& c, bool synthetic) {
  std::string note;
  LoadResult charts;
  if (!synthetic && find_dataset(dataset_spec("spotify-charts"), data_dir())) {
    TrainJob load;
    load.data = "spotify-charts";
    load.ctx.threads = c.threads;
    charts = load_job_data(load);
    note = "spotify-charts (" + std::to_string(charts.data.n_users()) + " countries)";
  } else {
    charts = synthetic_charts(c.seed);
    note = synthetic ? "a generated 8-country chart" : "spotify-charts absent: a generated 8-country chart";
  }
  auto model = create_model("implicit-als", "dotify", nlohmann::json::object());
  FitOptions fo;
  fo.ctx = {c.threads, c.seed};
  fo.labels = &charts.labels;
  auto t0 = std::chrono::steady_clock::now();
  model->fit(charts.data, fo);
  const std::string expr = "Colombia x Turkey - Germany";
  QueryOptions qo;
  qo.k = 3;
  qo.max_holders = 6;
  QueryResult q = run_query(*model, expr, qo);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const Labels& l = model->labels();
  nlohmann::json answers = nlohmann::json::array();
  for (size_t j = 0; j < q.items.size(); ++j) {
    const int32_t i = q.items[j].index;
    nlohmann::json in = nlohmann::json::array();
    for (int32_t u : q.holders[j].rows)
      in.push_back(l.user_names.empty() ? model->user_ids()->name(u) : l.user_names[u]);
    nlohmann::json a;
    a["item"] = model->item_ids()->name(i);
    a["title"] = l.item_titles.empty() ? model->item_ids()->name(i) : l.item_titles[i];
    a["artist"] = l.item_categories.empty() ? std::string() : l.item_categories[i];
    a["score"] = q.items[j].score;
    a["in"] = in;
    a["in_count"] = q.holders[j].count;
    answers.push_back(a);
  }
  return {{"data", note},
          {"model", "implicit-als --preset dotify"},
          {"query", expr},
          {"items", answers},
          {"seconds", seconds}};
}

void run_demo(const Common& c, const std::string& requested) {
  std::string data = requested, note;
  if (data == "synthetic") note = "the built-in synthetic dataset";
  const DatasetSpec& spec = dataset_spec("ml-100k");
  if (data != "synthetic" && !find_dataset(spec, data_dir())) {
    try {
      fmt::print(stderr, "ml-100k is not in {}; trying to download it ...\n", data_dir());
      fetch_dataset(spec, data_dir(), "", 10);
    } catch (const Error& e) {
      data = "synthetic";
      note = std::string("ml-100k unavailable (") + e.what() + "); using the built-in synthetic dataset";
    }
  }
  if (note.empty()) note = "MovieLens-100K from " + find_dataset(spec, data_dir())->path;
  const std::string shown = data == "synthetic" ? "synthetic" : "MovieLens-100K";
  // Presets tuned on a validation carve-out of this dataset; the small synthetic matrix takes
  // ML-100K's (the closest scale: several parameters, such as NNMF's lambda, grow with the data).
  const std::string preset = data == "synthetic" ? "ml-100k" : data;
  if (!c.json)
    fmt::print("mfkit demo: {}\nseed {}, {} thread(s)\n\n  {:<34} {:<34} {:>8}\n", note, c.seed, c.threads, "model",
               "test figures", "seconds");
  auto section = [&](const std::string& title) {
    if (!c.json) fmt::print("{}\n", title);
    std::fflush(stdout);
  };

  section("rating prediction: " + shown + ", random 90/10 split");
  nlohmann::json rating = nlohmann::json::array();
  for (const auto& e : model_registry()) {
    if (e.implicit) continue;  // ranked, not rated
    nlohmann::json r = demo_job(c, e.name, preset, data, "random:0.9", false);
    rating.push_back(r);
    if (!c.json)
      demo_row(demo_name(r),
               fmt::format("RMSE {:.4f}  MAE {:.4f}", r["test"]["rmse"].get<double>(), r["test"]["mae"].get<double>()),
               r["train_seconds"].get<double>());
  }

  section("\nimplicit feedback: " + shown + " read as implicit, 20% of each user's items held out" +
          (data == "synthetic" ? "\n(its cells are observed by item popularity alone: popularity is the model to beat)"
                               : ""));
  nlohmann::json ranking = nlohmann::json::array();
  for (const char* name : {"popularity", "implicit-als", "bpr"}) {
    nlohmann::json r = demo_job(c, name, "", data, "user:0.2", true);
    ranking.push_back(r);
    const auto& t = r["test"];
    if (!c.json)
      demo_row(demo_name(r), fmt::format("NDCG@10 {:.4f}  AUC {:.4f}", t["ndcg"].get<double>(), t["auc"].get<double>()),
               r["train_seconds"].get<double>());
  }

  nlohmann::json arithmetic = demo_arithmetic(c, data == "synthetic");
  section("\ncountry arithmetic: " + arithmetic["data"].get<std::string>());
  if (!c.json) {
    demo_row(arithmetic["model"].get<std::string>(), arithmetic["query"].get<std::string>(),
             arithmetic["seconds"].get<double>());
    int n = 1;
    for (const auto& it : arithmetic["items"]) {
      std::string in;
      for (const auto& x : it["in"]) in += (in.empty() ? "" : ", ") + x.get<std::string>();
      const int64_t more = it["in_count"].get<int64_t>() - static_cast<int64_t>(it["in"].size());
      if (more > 0) in += fmt::format(" and {} more", more);
      fmt::print("    {}. {} - {}   (charts in {})\n", n++, it["title"].get<std::string>(),
                 it["artist"].get<std::string>(), in);
    }
  }
  if (c.json)
    print_json(
        {{"data", data}, {"note", note}, {"results", rating}, {"implicit", ranking}, {"arithmetic", arithmetic}});
}

}  // namespace

void add_models(CLI::App& app) {
  auto c = std::make_shared<Common>();
  auto* s = app.add_subcommand("models", "list the models with their parameters, defaults, ranges and presets");
  s->add_flag("--json", c->json, "machine-readable output");
  s->callback([c] { run_models(*c); });
}

void add_data_cmd(CLI::App& app) {
  auto* s = app.add_subcommand("data", "list, download or inspect datasets");
  s->require_subcommand(1);
  auto c = std::make_shared<Common>();
  auto* list = s->add_subcommand("list", "known datasets and whether they are in the data dir");
  list->add_flag("--json", c->json, "machine-readable output");
  list->callback([c] { run_data_list(*c); });

  struct GetArgs {
    std::string name, url, dir;
    int timeout = 60;
  };
  auto g = std::make_shared<GetArgs>();
  auto* get = s->add_subcommand("get", "download a dataset's official archive, verify its checksum, unpack it");
  get->add_option("name", g->name, "dataset name")->required();
  get->add_option("--url", g->url, "download from this URL instead (a mirror)");
  get->add_option("--dir", g->dir, "unpack under this folder instead of the data dir");
  get->add_option("--timeout", g->timeout, "seconds to wait for the server")
      ->check(CLI::Range(1, 3600))
      ->capture_default_str();
  get->callback([g] { run_data_get(g->name, g->url, g->dir, g->timeout); });

  auto d = std::make_shared<DataOptions>();
  auto ic = std::make_shared<Common>();
  auto* info = s->add_subcommand("info", "load a dataset or file and print its size and value range");
  add_data(info, *d, true);
  info->add_flag("--json", ic->json, "machine-readable output");
  info->add_option("--threads", ic->threads, "parsing threads (default: all cores)")->check(CLI::Range(1, 256));
  info->callback([d, ic] { run_data_info(*d, *ic); });
}

void add_demo(CLI::App& app) {
  auto c = std::make_shared<Common>();
  auto data = std::make_shared<std::string>("ml-100k");
  auto* s = app.add_subcommand("demo",
                               "the main job: the rating models, three implicit-feedback models and one "
                               "country-arithmetic answer on MovieLens-100K and spotify-charts (or synthetic data)");
  s->add_option("--data", *data, "dataset: ml-100k (downloaded when absent, else synthetic) or synthetic")
      ->check(CLI::IsMember({"ml-100k", "synthetic"}))
      ->capture_default_str();
  add_common(s, *c);
  s->callback([c, data] { run_demo(*c, *data); });
}

}  // namespace mfkit::cli
