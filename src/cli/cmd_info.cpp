// mfkit models / data / demo.
#include <chrono>
#include <fmt/format.h>

#include <unistd.h>

#include <cstdio>
#include <memory>

#include "cli/common.h"
#include "cli/progress.h"
#include "mfkit/data.h"
#include "mfkit/error.h"
#include "mfkit/registry.h"

namespace mfkit::cli {

namespace {

void run_models(const Common& c) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& e : model_registry()) {
    nlohmann::json params = nlohmann::json::array();
    for (const auto& p : e.describe())
      params.push_back({{"name", p.name}, {"type", p.type}, {"default", p.default_value}, {"allowed", p.allowed()}, {"help", p.help}});
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
      fmt::print("    {:<14} {:<6} default {:<8} {:<18} {}\n", p["name"].get<std::string>(), p["type"].get<std::string>(),
                 p["default"].dump(), p["allowed"].get<std::string>(), p["help"].get<std::string>());
    for (auto it = m["presets"].begin(); it != m["presets"].end(); ++it)
      fmt::print("    preset {}: {}\n", it.key(), it.value().dump());
  }
}

void run_data_list(const Common& c) {
  nlohmann::json out = nlohmann::json::array();
  std::string dir = data_dir();
  for (const auto& s : datasets()) {
    auto src = find_dataset(s, dir);
    out.push_back({{"name", s.name}, {"description", s.description}, {"present", src.has_value()},
                   {"path", src ? src->path : ""}, {"url", s.url}, {"checksum", s.checksum}});
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
  nlohmann::json out = {{"data", d.data}, {"users", m.n_users()}, {"items", m.n_items()}, {"interactions", m.nnz()},
                        {"density", density}, {"mean_value", m.mean_value()},
                        {"min_value", *std::min_element(v.begin(), v.end())},
                        {"max_value", *std::max_element(v.begin(), v.end())}, {"timestamps", m.has_times()},
                        {"duplicates_merged", m.duplicates_merged()}, {"skipped_lines", r.skipped}, {"load_seconds", seconds}};
  if (c.json) {
    print_json(out);
    return;
  }
  for (auto it = out.begin(); it != out.end(); ++it) fmt::print("{:<18} {}\n", it.key(), it.value().dump());
  for (const auto& p : r.problems) fmt::print("skipped: {}\n", p);
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
  if (!c.json) fmt::print("mfkit demo: {}\nrandom 90/10 split, seed {}, {} thread(s)\n\n", note, c.seed, c.threads);
  std::fflush(stdout);
  nlohmann::json results = nlohmann::json::array();
  for (const auto& e : model_registry()) {
    if (e.create()->implicit()) continue;  // ranked, not rated: no RMSE to show
    TrainJob job;
    job.model = e.name;
    job.data = data;
    // Presets tuned on a validation carve-out of this dataset; the small synthetic matrix takes
    // ML-100K's (the closest scale: several parameters, such as NNMF's lambda, grow with the data).
    std::string preset = data == "synthetic" ? "ml-100k" : data;
    if (e.presets.count(preset)) job.preset = preset;
    job.ctx = {c.threads, c.seed};
    Progress progress(e.name, c.quiet || c.json || !::isatty(STDERR_FILENO));  // a bar on a terminal only
    job.on_epoch = progress.callback();
    nlohmann::json r = run_train_job(job);
    progress.finish();
    results.push_back(r);
    if (!c.json)
      fmt::print("{:<24} test RMSE {:.4f}  MAE {:.4f}  trained in {:.2f} s ({} epochs)\n",
                 e.name + (job.preset.empty() ? "" : " (preset " + job.preset + ")"),
                 r["test"]["rmse"].get<double>(), r["test"]["mae"].get<double>(), r["train_seconds"].get<double>(),
                 r["epochs"].get<int>());
  }
  if (c.json)
    print_json({{"data", data}, {"note", note}, {"results", results}});
  else
    fmt::print("\n(implicit-feedback models rank items rather than predict ratings; see the README's results)\n");
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
  get->add_option("--timeout", g->timeout, "seconds to wait for the server")->check(CLI::Range(1, 3600))->capture_default_str();
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
  auto* s = app.add_subcommand("demo", "the main job: train and evaluate every rating model on MovieLens-100K (or synthetic data)");
  s->add_option("--data", *data, "dataset: ml-100k (downloaded when absent, else synthetic) or synthetic")
      ->check(CLI::IsMember({"ml-100k", "synthetic"}))
      ->capture_default_str();
  add_common(s, *c);
  s->callback([c, data] { run_demo(*c, *data); });
}

}  // namespace mfkit::cli
