// mfkit index: builds (or drops) the approximate top-N index stored in a model file.
#include <fmt/format.h>

#include <chrono>
#include <memory>

#include "cli/common.h"
#include "mfkit/error.h"
#include "mfkit/index.h"
#include "mfkit/model_file.h"

namespace mfkit::cli {

namespace {

struct IndexArgs {
  Common common;
  std::string model_file, out;
  std::vector<std::string> sets;
  bool drop = false;
};

void run_index(const IndexArgs& a) {
  nlohmann::json meta;
  auto model = load_model(a.model_file, &meta);
  const std::string out = a.out.empty() ? a.model_file : a.out;
  nlohmann::json report = {{"model_file", out}, {"model", model->type()}, {"items", model->n_items()}};
  if (a.drop) {
    model->set_index(nullptr);
  } else {
    IndexParams p;
    params_from_json(p, parse_key_values(a.sets), "index");
    auto t0 = std::chrono::steady_clock::now();
    model->set_index(ItemIndex::build(*model, p, Context{a.common.threads, a.common.seed}));
    report["build_seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    report["index"] = params_to_json(p);
  }
  save_model(*model, out, meta);  // atomically: the old file stays whole until the new one is in place
  if (a.common.json) {
    print_json(report);
  } else if (a.drop) {
    fmt::print("{}: index dropped\n", out);
  } else {
    fmt::print("{}: HNSW index over {} items built in {:.2f} s ({})\n", out, model->n_items(),
               report["build_seconds"].get<double>(), report["index"].dump());
  }
}

}  // namespace

void add_index(CLI::App& app) {
  auto a = std::make_shared<IndexArgs>();
  auto* c = app.add_subcommand("index",
                               "build the approximate top-N index (HNSW) of a factor model and store it in its file");
  add_model_file(c, a->model_file, "`mfkit train --out`")->required();
  c->add_option("--out,-o", a->out, "write here instead of replacing the model file");
  std::string keys;
  for (const ParamInfo& p : describe_params<IndexParams>()) keys += (keys.empty() ? "" : ", ") + p.name;
  c->add_option("--set", a->sets, "index parameter key=value (repeatable): " + keys + " (docs/ann.md)")->take_all();
  c->add_flag("--drop", a->drop, "remove the index instead (answers become exact scans)");
  add_common(c, a->common);
  c->callback([a] { run_index(*a); });
}

}  // namespace mfkit::cli
