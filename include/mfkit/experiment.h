// mfkit/experiment.h - the whole train-and-evaluate job the CLI, the main job and the
// benchmarks share: load data, split, carve a validation part, fit, evaluate, save.
#pragma once

#include <nlohmann/json.hpp>

#include <memory>
#include <optional>
#include <string>

#include "mfkit/data.h"
#include "mfkit/model.h"

namespace mfkit {

struct TrainJob {
  std::string model;                 ///< registered model name
  std::string preset;                ///< a named parameter set of the model, or empty
  nlohmann::json params;             ///< overrides, applied after the preset
  std::string data;                  ///< dataset name, file path, or "synthetic"
  std::optional<Format> format;      ///< for file paths
  LoadOptions load;                  ///< loader behaviour (skip bad lines, duplicates)
  std::string split = "random:0.9";  ///< see split.h
  double valid = 0;                  ///< fraction of train carved out for validation (0 = none)
  int k = 10;                        ///< cut-off for ranking metrics
  Context ctx;                       ///< threads and seed
  std::string out;                   ///< model file to write, or empty
  EpochCallback on_epoch;            ///< progress reporting
  bool curve = false;                ///< report "curve": test RMSE after every epoch against seconds (rating models)
  /// Build an approximate top-N index after fitting (IndexParams keys, {} for the defaults); it
  /// is saved with the model. Set from `--set index=hnsw [--set index.M=32 ...]`.
  std::optional<nlohmann::json> index;
};

/// Runs the job and returns its report: model, dataset, split, params, sizes, test metrics,
/// train_seconds, epochs. `trained` (optional) receives the fitted model.
nlohmann::json run_train_job(const TrainJob& job, std::unique_ptr<Model>* trained = nullptr);

/// Loads data named as TrainJob::data ("synthetic" generates the built-in matrix).
LoadResult load_job_data(const TrainJob& job);

}  // namespace mfkit
