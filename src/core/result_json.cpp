#include "core/result_json.h"

#include "mfkit/labels.h"

namespace mfkit {

nlohmann::json item_json(const Model& m, int32_t i) {
  nlohmann::json e = {{"item", m.item_ids()->name(i)}};
  const Labels& l = m.labels();
  if (!l.item_titles.empty() && !l.item_titles[i].empty()) e["title"] = l.item_titles[i];
  if (!l.item_categories.empty() && !l.item_categories[i].empty()) e["category"] = l.item_categories[i];
  return e;
}

nlohmann::json user_json(const Model& m, int32_t u) {
  nlohmann::json e = {{"user", m.user_ids()->name(u)}};
  const Labels& l = m.labels();
  if (!l.user_names.empty() && !l.user_names[u].empty()) e["name"] = l.user_names[u];
  return e;
}

nlohmann::json scored_json(const Model& m, const std::vector<Scored>& list, bool users) {
  nlohmann::json out = nlohmann::json::array();
  for (const Scored& s : list) {
    nlohmann::json e = users ? user_json(m, s.index) : item_json(m, s.index);
    e["score"] = s.score;
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace mfkit
