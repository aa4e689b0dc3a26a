// mfkit/split.h - seeded, reproducible train/test splits.
//
// Every split returns matrices that share the input's id maps and shape, so indices mean the
// same thing in train and test. Split specs as the CLI takes them:
//   none           everything trains, the test part is empty (a production fit: no evaluation)
//   random:0.9     random 90/10 split of all entries
//   hash:0.9       90/10 keyed by (user id, item id, seed): a cell's side depends on nothing else,
//                  so every process layout holds out the same cells (distributed training)
//   kfold:5:2      fold 2 (0-based) of 5 as test, the rest as train
//   user:0.2[:50]  per-user holdout: 20% of each user's entries (at least 1 if the user has 2+);
//                  with a third number, only users with more entries than it are held out
//                  (dotify: countries with more than 50 songs)
//   loo[:99]       leave-last-out by timestamp (a seeded random entry per user when the data
//                  has no timestamps), with N sampled negatives per user (NCF protocol)
//   u1..u5, ua, ub the canonical MovieLens-100K files (needs the dataset folder)
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "mfkit/interactions.h"

namespace mfkit {

struct Split {
  Interactions train;
  Interactions test;
  /// For leave-one-out: per user, the sampled items never seen by that user (else empty).
  std::vector<std::vector<int32_t>> negatives;
  std::string description;  ///< what was done, e.g. "random 90/10, seed 1"
};

Split random_split(const Interactions& data, double train_fraction, uint64_t seed);
/// `hash:F`: entry (u, i) is held out when keyed_test_cell(u's raw id, i's raw id, F, seed).
Split keyed_split(const Interactions& data, double train_fraction, uint64_t seed);
bool keyed_test_cell(std::string_view user, std::string_view item, double train_fraction, uint64_t seed);
Split kfold_split(const Interactions& data, int folds, int fold, uint64_t seed);
Split user_holdout_split(const Interactions& data, double test_fraction, uint64_t seed, int64_t min_entries = 1);
Split leave_last_out_split(const Interactions& data, int negatives, uint64_t seed);
/// u1..u5/ua/ub read from `folder`, mapped with `data`'s id maps (unknown ids are an error).
Split canonical_ml100k_split(const Interactions& data, const std::string& folder, const std::string& name);
/// Parses a spec (see the header comment) and runs it. `folder` is the dataset's folder.
Split make_split(const Interactions& data, const std::string& spec, uint64_t seed, const std::string& folder = "");
/// The same, taking the data: `none` (and `random:1`) moves it into the training part instead of
/// copying it, so a fit on everything holds one copy of a large matrix, not two.
Split make_split(Interactions&& data, const std::string& spec, uint64_t seed, const std::string& folder = "");

/// Moves `fraction` of `train`'s entries (random, seeded) into a validation matrix.
std::pair<Interactions, Interactions> carve_validation(const Interactions& train, double fraction, uint64_t seed);

}  // namespace mfkit
