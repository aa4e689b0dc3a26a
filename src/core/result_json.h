// Internal: the one JSON form of results, shared by the CLI (--json) and the server: an item or
// user by its raw id with its score and the labels the model carries (an item's title and
// category, a user's name; an empty label is left out).
#pragma once

#include <nlohmann/json.hpp>

#include <vector>

#include "mfkit/model.h"
#include "mfkit/recommend.h"

namespace mfkit {

/// {"item": id, "title": ..., "category": ...} for item `i` of `m`.
nlohmann::json item_json(const Model& m, int32_t i);
/// {"user": id, "name": ...} for user `u` of `m`.
nlohmann::json user_json(const Model& m, int32_t u);
/// The item (or user, with `users`) entry of each result, with its "score", best first.
nlohmann::json scored_json(const Model& m, const std::vector<Scored>& list, bool users = false);

}  // namespace mfkit
