// Internal: `mfkit train` across processes (docs/distributed.md). Every rank calls it.
#pragma once

#include <chrono>

#include <nlohmann/json.hpp>

#include "dist/checkpoint.h"
#include "mfkit/communicator.h"
#include "mfkit/experiment.h"

namespace mfkit::dist {

struct Options {
  std::chrono::milliseconds timeout{60000};  ///< for the rendezvous and every collective
  CheckpointOptions checkpoint;
  /// Write a sharded model (a part per rank + a manifest at job.out) instead of gathering the
  /// model on rank 0; also chosen when the gathered model would take more than half of rank 0's
  /// available memory.
  bool sharded = false;
  /// When set, every rank writes the top job.k items of each of its users to
  /// top_n/part-<r>-of-<P>.csv (user,rank,item,score; training items left out).
  std::string top_n;
};

/// Fits job.model (als, implicit-als or biased-mf) on the file or folder job.data, each rank
/// reading and holding only its shard and blocks; with `--split hash:F` the held-out cells are
/// scored across ranks (RMSE for als and biased-mf, top-k metrics for implicit-als). Rank 0 writes job.out (one model
/// file, atomically). Returns the report (the same on every rank): sizes, per-iteration seconds and bytes sent, test
/// metrics, timings.
nlohmann::json train(const TrainJob& job, const DistEnv& env, const Options& opt);

}  // namespace mfkit::dist
