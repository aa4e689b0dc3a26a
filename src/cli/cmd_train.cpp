// mfkit train / eval.
#include <fmt/format.h>

#include <unistd.h>

#include <fstream>
#include <memory>

#include "cli/common.h"
#include "cli/progress.h"
#include "core/json.h"
#include "data/text_file.h"
#include "dist/train.h"
#include "mfkit/communicator.h"
#include "mfkit/error.h"
#include "mfkit/evaluate.h"
#include "mfkit/model_file.h"
#include "mfkit/registry.h"
#include "mfkit/split.h"

namespace mfkit::cli {

namespace {

struct TrainArgs {
  Common common;
  DataOptions data;
  std::string model, preset, config, split = "random:0.9", out;
  std::vector<std::string> sets;
  double valid = 0;
  int k = 10;
  double timeout = 60;
  std::string checkpoint;
  int checkpoint_every = 1;
  std::string resume = "auto";
  bool sharded = false;
  std::string top_n;
};

nlohmann::json read_config(const std::string& path) {
  nlohmann::json j;
  try {
    j = parse_json(read_file(path, size_t(1) << 24));
  } catch (const JsonError& e) {
    throw InputError(path, 0, e.what());
  }
  if (!j.is_object()) throw InputError(path, 0, "config must be a JSON object of parameters");
  return j;
}

void print_metrics_line(const nlohmann::json& test) {
  std::string s;
  for (auto it = test.begin(); it != test.end(); ++it)
    if (it.value().is_number_float()) s += fmt::format("  {} {:.4f}", it.key(), it.value().get<double>());
  fmt::print("{}\n", s);
}

void run_train(const TrainArgs& a) {
  TrainJob job;
  job.model = a.model;
  job.preset = a.preset;
  job.params = a.config.empty() ? nlohmann::json::object() : read_config(a.config);
  job.params.update(parse_key_values(a.sets));
  // index=hnsw and index.<key>=value describe the approximate index, not the model.
  nlohmann::json index_params = nlohmann::json::object();
  bool want_index = false;
  for (auto it = job.params.begin(); it != job.params.end();) {
    const std::string key = it.key();
    if (key == "index") {
      if (*it != "hnsw" && *it != "none") throw ParamError("--set index=" + it->dump() + ": expected hnsw or none");
      want_index = *it == "hnsw";
    } else if (key.rfind("index.", 0) == 0) {
      index_params[key.substr(6)] = *it;
    } else {
      ++it;
      continue;
    }
    it = job.params.erase(it);
  }
  if (!index_params.empty() && !want_index) throw ParamError("--set index.<key>: give --set index=hnsw as well");
  if (want_index) job.index = index_params;
  apply_data(a.data, job);
  job.split = a.split;
  job.valid = a.valid;
  job.k = a.k;
  job.ctx.threads = a.common.threads;
  job.ctx.seed = a.common.seed;
  job.out = a.out;
  const DistEnv env = DistEnv::from_environment();
  // With --json, plain per-epoch lines would only clutter logs: show the bar on a terminal only.
  Progress progress(a.model, a.common.quiet || (a.common.json && !::isatty(STDERR_FILENO)) || env.rank != 0);
  job.on_epoch = progress.callback();
  // The partitioned path (dist::train, one rank here unless torchrun started several) does
  // checkpoints, per-rank top-N lists and sharded model files; one process takes it for those too.
  if (env.world_size > 1 || !a.checkpoint.empty() || a.sharded || !a.top_n.empty()) {
    dist::Options opt;
    opt.timeout = std::chrono::milliseconds(static_cast<int64_t>(a.timeout * 1000));
    opt.checkpoint = {a.checkpoint, a.checkpoint_every, a.resume != "never"};
    opt.sharded = a.sharded;
    opt.top_n = a.top_n;
    nlohmann::json report = dist::train(job, env, opt);
    progress.finish();
    if (env.rank != 0) return;
    if (a.common.json) return print_json(report);
    fmt::print(
        "{} on {} across {} ranks: {} users x {} items, {} ratings, read and partitioned in {:.2f} s, {} "
        "iterations in {:.2f} s\n",
        job.model, job.data, env.world_size, report["n_users"].get<int64_t>(), report["n_items"].get<int64_t>(),
        report["nnz"].get<int64_t>(), report["load_seconds"].get<double>(), report["epochs"].get<int>(),
        report["train_seconds"].get<double>());
    if (report.contains("resumed_after"))
      fmt::print("resumed after iteration {}\n", report["resumed_after"].get<int>());
    const nlohmann::json& t = report["test"];
    if (t.contains("rmse"))
      fmt::print("test RMSE {:.4f}, MAE {:.4f} over {} held-out ratings\n", t["rmse"].get<double>(),
                 t["mae"].get<double>(), t["n"].get<int64_t>());
    if (t.contains("ndcg"))
      fmt::print(
          "test at k={}: precision {:.4f}, recall {:.4f}, NDCG {:.4f}, MAP {:.4f}, hit rate {:.4f} over {} users\n",
          t["k"].get<int>(), t["precision"].get<double>(), t["recall"].get<double>(), t["ndcg"].get<double>(),
          t["map"].get<double>(), t["hit_rate"].get<double>(), t["users"].get<int64_t>());
    if (report.contains("top_n")) fmt::print("top-{} lists in {}\n", job.k, report["top_n"].get<std::string>());
    if (!a.out.empty())
      fmt::print("saved {}{}\n", a.out,
                 report.contains("sharded")
                     ? fmt::format(" (manifest of {} parts beside it)", report["sharded"].get<int>())
                     : "");
    return;
  }
  nlohmann::json report = run_train_job(job);
  progress.finish();
  if (a.common.json) {
    print_json(report);
    return;
  }
  fmt::print("{} on {} ({}): {} train / {} test ratings, loaded in {:.2f} s, {} epochs in {:.2f} s\n",
             report["model"].get<std::string>(), report["dataset"].get<std::string>(),
             report["split"].get<std::string>(), report["n_train"].get<int64_t>(), report["n_test"].get<int64_t>(),
             report["load_seconds"].get<double>(), report["epochs"].get<int>(), report["train_seconds"].get<double>());
  if (report["test"].is_null()) {
    fmt::print("test: none (nothing held out)\n");
  } else {
    fmt::print("test ({:.2f} s):", report["eval_seconds"].get<double>());
    print_metrics_line(report["test"]);
  }
  if (report.contains("chosen")) fmt::print("chosen on the validation part: {}\n", report["chosen"].dump());
  if (report.contains("skipped_lines"))
    fmt::print("skipped {} malformed lines\n", report["skipped_lines"].get<int64_t>());
  if (!a.out.empty()) fmt::print("saved {}\n", a.out);
}

struct EvalArgs {
  Common common;
  DataOptions data;
  std::string model_file, split = "random:0.9";
  int k = 10;
};

void run_eval(const EvalArgs& a) {
  nlohmann::json meta;
  auto model = load_model(a.model_file, &meta);
  TrainJob job;
  apply_data(a.data, job);
  LoadResult loaded = load_job_data(job);
  std::string folder = job.data == "synthetic" ? "" : dataset_folder(job.data);
  Split split = make_split(loaded.data, a.split, a.common.seed, folder);
  int64_t dropped = 0;
  Interactions test = to_model_ids(split.test, *model, &dropped);
  nlohmann::json r;
  r["model"] = model->type();
  r["model_file"] = a.model_file;
  r["dataset"] = a.data.data;
  r["split"] = split.description;
  r["unknown_entries"] = dropped;
  if (model->implicit()) {
    int64_t d2 = 0;
    Interactions train = to_model_ids(split.train, *model, &d2);
    Context ctx{a.common.threads, a.common.seed};
    r["test"] = evaluate_ranking(*model, train, test, a.k, ctx);
  } else {
    r["test"] = evaluate_rating(*model, test);
  }
  if (a.common.json) {
    print_json(r);
    return;
  }
  fmt::print("{} from {} on {} ({}), {} test entries with unknown ids left out\ntest:", model->type(), a.model_file,
             a.data.data, split.description, dropped);
  print_metrics_line(r["test"]);
}

}  // namespace

void add_train(CLI::App& app) {
  auto a = std::make_shared<TrainArgs>();
  auto* c = app.add_subcommand("train", "train a model, evaluate it on a held-out split, optionally save it");
  add_model_type(c, a->model)->required();
  c->add_option("--preset", a->preset, "a named parameter set of the model (see `mfkit models`)");
  c->add_option("--set", a->sets, "parameter override key=value (repeatable)")->take_all();
  c->add_option("--config", a->config, "JSON file of parameters (applied before --set)");
  add_data(c, a->data, true);
  c->add_option("--split", a->split,
                "none | random:F (F in (0, 1]; 1 trains on everything, as none) | hash:F | kfold:K:I | user:F[:MIN] | "
                "loo[:N] | u1..u5|ua|ub")
      ->capture_default_str();
  c->add_option("--valid", a->valid, "fraction of train carved out for validation/early stopping (0 = none)")
      ->check(CLI::Range(0.0, 0.5))
      ->capture_default_str();
  add_k(c, a->k, "cut-off for ranking metrics");
  c->add_option("--out,-o", a->out, "save the trained model to this file (written atomically)");
  c->add_option("--timeout", a->timeout, "distributed runs (WORLD_SIZE > 1): seconds to wait for the other ranks")
      ->check(CLI::Range(1.0, 86400.0))
      ->capture_default_str();
  auto* ck =
      c->add_option("--checkpoint", a->checkpoint,
                    "save the fit's state in this folder as it goes (als, implicit-als, biased-mf from --data PATH; "
                    "distributed or not)");
  c->add_option("--checkpoint-every", a->checkpoint_every, "iterations between checkpoints")
      ->check(CLI::Range(1, 1000000))
      ->needs(ck)
      ->capture_default_str();
  c->add_flag("--sharded", a->sharded,
              "every rank (one in one process) writes its part of the model beside -o, which becomes their manifest "
              "(any command loads it); chosen by itself when rank 0 lacks the memory for the whole model");
  c->add_option("--top-n", a->top_n,
                "write the top -k items of every user to this folder, one CSV per rank "
                "(user,rank,item,score; training items left out)");
  c->add_option("--resume", a->resume,
                "auto: continue from the newest complete checkpoint in --checkpoint when it holds one (so a job "
                "restarted by torchrun --max_restarts continues by itself), else start; never: start over. "
                "A bare --resume means auto")
      ->expected(0, 1)
      ->default_str("auto")
      ->check(CLI::IsMember({"auto", "never"}))
      ->needs(ck)
      ->capture_default_str();
  add_common(c, a->common);
  c->callback([a] { run_train(*a); });
}

void add_eval(CLI::App& app) {
  auto a = std::make_shared<EvalArgs>();
  auto* c = app.add_subcommand(
      "eval", "evaluate a saved model on the test part of a split (same --split and --seed as training)");
  add_model_file(c, a->model_file, "`mfkit train --out`")->required();
  add_data(c, a->data, true);
  c->add_option("--split", a->split, "the split used at training time")->capture_default_str();
  add_k(c, a->k, "cut-off for ranking metrics");
  add_common(c, a->common);
  c->callback([a] { run_eval(*a); });
}

}  // namespace mfkit::cli
