// Internal: what the distributed fits share. Each fit (als.cpp, sgd.cpp) works on this rank's
// blocks of a Partition, runs its iterations through `iterate` (timing, loss, checkpoints) and
// returns this rank's rows; train.cpp gathers them into the model file and evaluates them.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "dist/partition.h"
#include "mfkit/experiment.h"
#include "mfkit/params.h"

namespace mfkit::dist {

class Checkpoint;

/// This rank's rows of a fitted factor model: its users' and its items' (OwnedIds order).
/// Predictions are mu + bu + bi + p.q (biases empty for models without them), clipped to
/// [lo, hi] when `clip`.
struct LocalModel {
  int k = 0;
  std::vector<float> P, bu, Q, bi;
  float mu = 0, lo = 0, hi = 0;
  bool clip = false;
};

struct FitContext {
  Communicator& comm;
  const Partition& part;
  const TrainJob& job;
  const nlohmann::json& params;  ///< the model's parameters, preset and overrides applied
  nlohmann::json& report;
  Checkpoint* checkpoint = nullptr;  ///< null: no checkpoints
};

/// The fit's parameter struct from fc.params.
template <class Params>
Params params_of(const FitContext& fc) {
  Params p;
  params_from_json(p, fc.params, fc.job.model);
  return p;
}

/// An array of a fit's state between iterations, saved by checkpoints and restored in place.
struct StateArray {
  std::string name;
  float* data;
  size_t size;
};
using State = std::vector<StateArray>;
/// One iteration (numbered from 1); returns the training loss over all ranks.
using Sweep = std::function<double(int iteration)>;

/// Runs iterations 1..n (or from the checkpoint's next one), timing each and counting what this
/// rank sent; DivergedError when the loss is not finite; the report's "iterations" on every rank.
void iterate(FitContext& fc, int n, const State& state, const Sweep& sweep);

LocalModel fit_als(FitContext& fc);
LocalModel fit_implicit_als(FitContext& fc);
/// biased-mf by DSGD (Gemulla et al. 2011): P x P strata, item blocks passed round the ranks.
LocalModel fit_biased_mf(FitContext& fc);

/// RMSE, MAE and count of `test` (this rank's held-out cells, raw ids in its id maps) over all
/// ranks, scored as the saved model scores them: an id absent from training adds no factor term.
/// Cells of one pair held by several ranks are merged by `dup` first, as the training blocks are.
nlohmann::json evaluate_rating(Communicator& comm, const Partition& part, const LocalModel& m, const Interactions& test,
                               DuplicatePolicy dup);

/// One entry of a top-N list: the model's score, global item index, the item's number of
/// training users, its raw id.
struct Ranked {
  float score;
  int64_t item;
  int64_t users;
  std::string name;
};
/// The k best items for every user this rank owns (OwnedIds order), training items left out,
/// best first; ties as the saved model breaks them (more training users first, then global
/// index: Model::tie_rank); every rank takes part (topn.cpp).
std::vector<std::vector<Ranked>> top_n(Communicator& comm, const Partition& part, const LocalModel& m, int k,
                                       int threads);
/// Each rank's lists as dir/part-<r>-of-<P>.csv (user,rank,item,score), written atomically.
void write_top_n(Communicator& comm, const Partition& part, const std::vector<std::vector<Ranked>>& lists,
                 const std::string& dir);
/// Precision, recall, NDCG, MAP and hit rate at k of the lists against every rank's held-out cells
/// (`test`, raw ids, merged by `dup` as in evaluate_rating), averaged over the users with held-out
/// items, as evaluate_ranking does.
nlohmann::json evaluate_ranking(Communicator& comm, const Partition& part,
                                const std::vector<std::vector<Ranked>>& lists, const Interactions& test,
                                DuplicatePolicy dup, int k);

}  // namespace mfkit::dist
