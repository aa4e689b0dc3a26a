// Internal: `mfkit train` across processes (docs/distributed.md). Every rank calls it.
#pragma once

#include <chrono>

#include <nlohmann/json.hpp>

#include "mfkit/communicator.h"
#include "mfkit/experiment.h"

namespace mfkit::dist {

/// Fits job.model (als or implicit-als) on the file or folder job.data, each rank reading and
/// holding only its shard and blocks; rank 0 writes job.out (one model file, atomically). Returns
/// the report (the same on every rank): sizes, per-iteration seconds and bytes sent, timings.
nlohmann::json train(const TrainJob& job, const DistEnv& env, std::chrono::milliseconds timeout);

}  // namespace mfkit::dist
