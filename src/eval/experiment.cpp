#include "mfkit/experiment.h"

#include <algorithm>
#include <chrono>

#include "core/peak_rss.h"
#include "io/atomic_file.h"
#include "mfkit/error.h"
#include "mfkit/evaluate.h"
#include "mfkit/index.h"
#include "mfkit/model_file.h"
#include "mfkit/registry.h"
#include "mfkit/split.h"

namespace mfkit {

LoadResult load_job_data(const TrainJob& job) {
  if (job.data == "synthetic") {
    LoadResult r;
    r.data = synthetic_ratings();
    r.lines = r.data.nnz();
    if (job.load.binarize) {
      Coo c = r.data.to_coo();
      std::fill(c.values.begin(), c.values.end(), 1.0f);
      r.data = Interactions::from_coo(c, r.data.user_ids(), r.data.item_ids());
    }
    return r;
  }
  LoadOptions opt = job.load;
  if (opt.threads == 0) opt.threads = job.ctx.threads;
  return load_data(job.data, job.format, opt);
}

nlohmann::json run_train_job(const TrainJob& job, std::unique_ptr<Model>* trained) {
  std::unique_ptr<Model> model = create_model(job.model, job.preset, job.params);
  IndexParams ip;  // checked before the fit, not found wrong after it
  if (job.index) params_from_json(ip, *job.index, "index");
  if (!job.out.empty()) check_writable(job.out, "model file");

  auto since = [](std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
  };
  auto t_load = std::chrono::steady_clock::now();
  LoadResult loaded = load_job_data(job);
  const double load_seconds = since(t_load);
  // The process's high-water mark of resident memory after each stage (a stage that raised it is
  // where the peak was).
  nlohmann::json peak_rss = {{"load", peak_rss_bytes()}};
  std::string folder = job.data == "synthetic" ? "" : dataset_folder(job.data);
  const int32_t n_users = loaded.data.n_users(), n_items = loaded.data.n_items();
  // The split takes the data: a fit on everything keeps one copy, other splits drop it after.
  Split split = make_split(std::move(loaded.data), job.split, job.ctx.seed, folder);
  peak_rss["split"] = peak_rss_bytes();
  loaded.data = Interactions();
  Interactions train = std::move(split.train), valid;
  if (job.valid > 0) std::tie(train, valid) = carve_validation(train, job.valid, job.ctx.seed);

  FitOptions fo;
  fo.ctx = job.ctx;
  fo.validation = job.valid > 0 ? &valid : nullptr;
  fo.labels = &loaded.labels;
  if (job.curve) fo.monitor = &split.test;
  int epochs_run = 0;
  nlohmann::json curve = nlohmann::json::array(), epoch_seconds = nlohmann::json::array();
  auto t0 = std::chrono::steady_clock::now();
  fo.on_epoch = [&](const EpochInfo& e) {
    epochs_run = e.epoch;
    epoch_seconds.push_back(e.seconds);
    // Seconds since fit() began: warm starts, validation and this test pass included.
    if (e.monitor_rmse)
      curve.push_back({{"epoch", e.epoch},
                       {"seconds", std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()},
                       {"test_rmse", *e.monitor_rmse}});
    return job.on_epoch ? job.on_epoch(e) : true;
  };
  model->fit(train, fo);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  peak_rss["fit"] = peak_rss_bytes();
  double index_seconds = 0;
  if (job.index) {
    auto t_index = std::chrono::steady_clock::now();
    model->set_index(ItemIndex::build(*model, ip, job.ctx));
    index_seconds = since(t_index);
    peak_rss["index"] = peak_rss_bytes();
  }

  nlohmann::json test;
  auto t_eval = std::chrono::steady_clock::now();
  if (split.test.nnz() == 0) {
    test = nullptr;  // --split none: nothing held out, nothing to score
  } else if (!split.negatives.empty()) {
    test = evaluate_leave_one_out(*model, split, job.k, job.ctx);
  } else if (model->implicit()) {
    test = evaluate_ranking(*model, train, split.test, job.k, job.ctx);
  } else {
    test = evaluate_rating(*model, split.test);
  }
  const double eval_seconds = since(t_eval);
  if (!test.is_null()) peak_rss["eval"] = peak_rss_bytes();
  nlohmann::json report;
  report["model"] = job.model;
  if (!job.preset.empty()) report["preset"] = job.preset;
  report["dataset"] = job.data;
  report["split"] = split.description;
  report["params"] = model->params();
  report["n_users"] = n_users;
  report["n_items"] = n_items;
  report["n_train"] = train.nnz();
  report["n_valid"] = job.valid > 0 ? valid.nnz() : 0;
  report["n_test"] = split.test.nnz();
  if (loaded.skipped) report["skipped_lines"] = loaded.skipped;
  report["threads"] = job.ctx.threads;
  report["seed"] = job.ctx.seed;
  report["epochs"] = epochs_run;
  report["load_seconds"] = load_seconds;
  report["train_seconds"] = seconds;
  // Each epoch's own time (its step, without validation): train_seconds less their sum is the set-up.
  report["epoch_seconds"] = epoch_seconds;
  report["eval_seconds"] = eval_seconds;
  if (job.index) report["index_seconds"] = index_seconds;
  report["test"] = test;
  if (nlohmann::json c = model->chosen(); !c.empty()) report["chosen"] = c;
  if (job.curve) report["curve"] = curve;
  // Validation figures for choosing presets without looking at the test part.
  if (job.valid > 0 && split.negatives.empty() && !model->implicit()) report["valid"] = evaluate_rating(*model, valid);
  if (!job.out.empty()) {
    save_model(*model, job.out, {{"dataset", job.data}, {"split", split.description}, {"test", test}});
    report["saved"] = job.out;
    peak_rss["save"] = peak_rss_bytes();
  }
  report["peak_rss_bytes"] = peak_rss;
  if (trained) *trained = std::move(model);
  return report;
}

}  // namespace mfkit
