// mfkit/evaluate.h - evaluating a fitted model on held-out data.
#pragma once

#include <nlohmann/json.hpp>

#include "mfkit/context.h"
#include "mfkit/interactions.h"
#include "mfkit/model.h"
#include "mfkit/split.h"

namespace mfkit {

/// RMSE and MAE of the model's predictions for every entry of `test`.
nlohmann::json evaluate_rating(const Model& model, const Interactions& test);

/// Ranking metrics at k over users with at least one test item: precision, recall, ndcg, map,
/// hit_rate, auc, expected percentile rank pooled over users (weighted by the held-out values)
/// and its mean over users (all items ranked, training items excluded).
nlohmann::json evaluate_ranking(const Model& model, const Interactions& train, const Interactions& test, int k,
                                const Context& ctx);

/// NCF protocol: each user's held-out item ranked among its sampled negatives; hr and ndcg at k,
/// and auc (the share of those negatives scored below it, ties half), averaged over users.
nlohmann::json evaluate_leave_one_out(const Model& model, const Split& split, int k, const Context& ctx);

}  // namespace mfkit

namespace mfkit {

/// Re-indexes `m` (loaded separately) into the given id maps by raw id. Entries whose user or
/// item the maps do not know are dropped and counted in *dropped.
Interactions to_ids(const Interactions& m, std::shared_ptr<const IdMap> users, std::shared_ptr<const IdMap> items,
                    int64_t* dropped);
/// to_ids into the model's id maps.
Interactions to_model_ids(const Interactions& m, const Model& model, int64_t* dropped);

}  // namespace mfkit
