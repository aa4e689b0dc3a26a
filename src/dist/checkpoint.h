// Internal: checkpoints of distributed training. Every `every` iterations each rank writes its
// state to DIR/iter-<t>/rank-<r>-of-<P>.mfk (a model file: atomic, checksummed), and once every
// rank has written, its own pointer DIR/rank-<r>-of-<P>.latest; the generation before stays until
// the next one is complete. `--resume auto` (the default) takes the newest iteration every rank
// completed, so a crash at any moment leaves a state to continue from, on a shared or a
// per-machine file system alike, and a job restarted by torchrun continues by itself.
#pragma once

#include <string>

#include "dist/fit.h"

namespace mfkit::dist {

struct CheckpointOptions {
  std::string dir;     ///< empty: no checkpoints
  int every = 1;       ///< iterations between checkpoints
  bool resume = true;  ///< continue from the newest complete checkpoint when there is one
};

class Checkpoint {
 public:
  /// `settings`: what must match to resume (model, parameters but the iteration count, seed,
  /// data, layout, version).
  Checkpoint(Communicator& comm, CheckpointOptions opt, nlohmann::json settings);
  /// With resume: loads `state` from the newest complete checkpoint and returns its iteration
  /// (0 when there is none: the fit starts from the beginning). Without: 0.
  int restore(const State& state);
  /// Saves `state` when `iteration` is a multiple of `every` (all ranks call it).
  void after(int iteration, const State& state);
  const std::string& dir() const { return opt_.dir; }

 private:
  std::string part_path(int iteration) const;
  std::string latest_path() const;
  Communicator& comm_;
  CheckpointOptions opt_;
  nlohmann::json settings_;
  int saved_ = 0;  // newest complete iteration on disk
};

}  // namespace mfkit::dist
