// mfkit/recommend.h - top-N recommendation and similarity over any Model.
#pragma once

#include <cstdint>
#include <vector>

#include "mfkit/context.h"
#include "mfkit/model.h"

namespace mfkit {

struct Scored {
  int32_t index;
  float score;
};

struct RecommendOptions {
  int k = 10;                       ///< how many items per user
  bool filter_seen = true;          ///< drop the user's training items
  std::vector<int32_t> exclude;     ///< items never recommended (a global filter)
  std::vector<int32_t> candidates;  ///< when non-empty, only these items are ranked
  /// When set, row r holds the items filtered for the r-th requested user (with filter_seen), in
  /// place of the model's training items: the caller's own current interactions of those users.
  const Csr* seen = nullptr;
  /// Scan every item even when the model has an approximate index (Model::index()).
  bool exact = false;
};

/// Top-k items for each user (best first). Users are scored in blocks; OpenMP over blocks.
/// With an index (and not opt.exact) each user's candidates come from it: over-fetched by the
/// number of filtered items (divided by the share of candidates when opt.candidates is given),
/// filtered, fetched again twice as many while fewer than k survive, rescored exactly by
/// predict(); a user whose filters remove half the catalogue or more is answered exactly.
std::vector<std::vector<Scored>> recommend(const Model& model, const std::vector<int32_t>& users,
                                           const RecommendOptions& opt, const Context& ctx = {});

/// Top-k items for a user known only by these interactions (fold-in: Model::score_new_user),
/// with the same filters; with filter_seen the user's own items are left out. Throws Error
/// when the model cannot fold in.
std::vector<Scored> recommend_new_user(const Model& model, const std::vector<int32_t>& items,
                                       const std::vector<float>& values, const RecommendOptions& opt);

/// recommend_new_user for every row of `rows` (one new user's items and values per row), with
/// OpenMP over rows.
std::vector<std::vector<Scored>> recommend_new_users(const Model& model, const Csr& rows, const RecommendOptions& opt,
                                                     const Context& ctx = {});

/// The k items most similar to `item` by cosine of the model's item vectors (itself excluded),
/// through the index's cosine graph when there is one (filters kept the same way as recommend).
/// Throws Error when the model has no item vectors.
std::vector<Scored> similar_items(const Model& model, int32_t item, int k);
std::vector<Scored> similar_users(const Model& model, int32_t user, int k);
/// The same for several queries at once (the vectors' norms computed once), keeping opt.k
/// neighbours of each, never one in opt.exclude and, when opt.candidates is given, only those
/// (indices of the same side as the queries); filter_seen and seen do not apply.
std::vector<std::vector<Scored>> similar_items(const Model& model, const std::vector<int32_t>& items,
                                               const RecommendOptions& opt);
std::vector<std::vector<Scored>> similar_users(const Model& model, const std::vector<int32_t>& users,
                                               const RecommendOptions& opt);

/// The k best of `scores` (length n), skipping entries set to -infinity and NaN; best first.
/// Equal scores come in the order of `tie_rank` (lower first: Model::tie_rank(), popularity then
/// index), or of index when it is null.
std::vector<Scored> top_k(const float* scores, int32_t n, int k, const int32_t* tie_rank = nullptr);

/// Places 0..n-1 of entries ordered by count (descending), then index: the tie order of top-N.
std::vector<int32_t> rank_by_count(const std::vector<int64_t>& count);

}  // namespace mfkit
