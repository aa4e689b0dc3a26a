// mfkit predict / recommend / similar: answering from a saved model by raw ids.
#include <fmt/format.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <map>
#include <memory>

#include "cli/common.h"
#include "core/result_json.h"
#include "mfkit/data.h"
#include "mfkit/error.h"
#include "mfkit/model_file.h"
#include "mfkit/query.h"
#include "mfkit/recommend.h"

namespace mfkit::cli {

namespace {

struct UseArgs {
  Common common;
  std::string model_file, titles;
  std::vector<std::string> users, items, exclude, fold_in;
  std::string query;
  int k = 10;
  bool include_seen = false, raw_norms = false, exact = false;
};

std::map<std::string, ItemInfo> item_titles(const std::string& data) {
  if (data.empty()) return {};
  return load_item_info(data);
}

// The shared JSON form (core/result_json.h), with titles and genres from --titles DATA on top.
nlohmann::json scored_list(const Model& m, const std::vector<Scored>& list, const std::map<std::string, ItemInfo>& info,
                           bool items) {
  nlohmann::json out = scored_json(m, list, !items);
  for (auto& e : out) {
    if (!items) break;
    if (auto it = info.find(e["item"].get<std::string>()); it != info.end()) {
      e["title"] = it->second.title;
      if (!it->second.genres.empty()) e["genres"] = it->second.genres;
    }
  }
  return out;
}

void print_list(const nlohmann::json& list, const char* key) {
  int rank = 1;
  for (const auto& e : list) {
    std::string title = e.contains("title") ? "  " + e["title"].get<std::string>() : "";
    if (e.contains("name")) title = "  " + e["name"].get<std::string>();
    if (e.contains("category")) title += " - " + e["category"].get<std::string>();
    fmt::print("{:>3}. {} {:<10} {:.4f}{}\n", rank++, key, e[key].get<std::string>(), e["score"].get<float>(), title);
    if (e.contains("in")) {  // a query's answer: the rows that hold it
      std::string in;
      for (const auto& x : e["in"]) in += (in.empty() ? "" : ", ") + x.get<std::string>();
      int64_t more = e["in_count"].get<int64_t>() - static_cast<int64_t>(e["in"].size());
      fmt::print("       in: {}{}\n", in.empty() ? "-" : in, more > 0 ? fmt::format(" and {} more", more) : "");
    }
  }
}

void run_predict(const UseArgs& a) {
  auto model = load_model(a.model_file);
  if (a.users.size() != a.items.size())
    throw ParamError(fmt::format("predict: --user given {} times but --item {} times; give them in pairs",
                                 a.users.size(), a.items.size()));
  nlohmann::json out = nlohmann::json::array();
  for (size_t n = 0; n < a.users.size(); ++n) {
    int32_t u = model->user_ids()->find(a.users[n]), i = model->item_ids()->find(a.items[n]);
    float p = model->predict_one(u, i);
    out.push_back({{"user", a.users[n]},
                   {"item", a.items[n]},
                   {"prediction", p},
                   {"known_user", u >= 0},
                   {"known_item", i >= 0}});
  }
  if (a.common.json) {
    print_json(out);
    return;
  }
  for (const auto& e : out)
    fmt::print("user {} item {}: {:.4f}{}\n", e["user"].get<std::string>(), e["item"].get<std::string>(),
               e["prediction"].get<float>(),
               e["known_user"].get<bool>() && e["known_item"].get<bool>() ? "" : "  (unknown id: fallback to biases)");
}

void run_recommend(const UseArgs& a) {
  auto model = load_model(a.model_file);
  RecommendOptions opt;
  opt.k = a.k;
  opt.filter_seen = !a.include_seen;
  opt.exact = a.exact;
  for (const auto& x : a.exclude) opt.exclude.push_back(model->item_ids()->at(x, "item"));
  auto info = item_titles(a.titles);
  nlohmann::json out = nlohmann::json::array();
  if (!a.fold_in.empty()) {
    // A new user known only by these items: its vector is solved with the items fixed.
    std::vector<int32_t> items;
    std::vector<float> values;
    for (const auto& x : a.fold_in) {
      auto eq = x.find('=');
      items.push_back(model->item_ids()->at(x.substr(0, eq), "item"));
      values.push_back(1.0f);
      if (eq != std::string::npos) {
        const std::string v = x.substr(eq + 1);
        char* end = nullptr;
        errno = 0;
        const double d = v.empty() ? 0 : std::strtod(v.c_str(), &end);
        if (v.empty() || *end != '\0' || errno == ERANGE || !std::isfinite(d))
          throw ParamError("--items '" + x + "': the value after '=' is not a finite number");
        values.back() = static_cast<float>(d);
      }
    }
    out.push_back({{"user", "(new)"},
                   {"items", scored_list(*model, recommend_new_user(*model, items, values, opt), info, true)}});
  }
  std::vector<int32_t> users;
  for (const auto& u : a.users) users.push_back(resolve_row(*model, u));
  Context ctx{a.common.threads, a.common.seed};
  auto lists = recommend(*model, users, opt, ctx);
  for (size_t n = 0; n < users.size(); ++n)
    out.push_back({{"user", a.users[n]}, {"items", scored_list(*model, lists[n], info, true)}});
  if (a.common.json) {
    print_json(out);
    return;
  }
  for (const auto& e : out) {
    fmt::print("user {}:\n", e["user"].get<std::string>());
    print_list(e["items"], "item");
  }
}

void run_similar(const UseArgs& a) {
  auto model = load_model(a.model_file);
  nlohmann::json out = nlohmann::json::array();
  auto info = item_titles(a.titles);
  RecommendOptions opt;
  opt.k = a.k;
  opt.exact = a.exact;
  for (const auto& x : a.items)
    out.push_back({{"item", x},
                   {"similar", scored_list(*model, similar_items(*model, {model->item_ids()->at(x, "item")}, opt)[0],
                                           info, true)}});
  for (const auto& x : a.users)
    out.push_back(
        {{"user", x},
         {"similar", scored_list(*model, similar_users(*model, model->user_ids()->at(x, "user"), a.k), {}, false)}});
  if (a.items.empty() && a.users.empty()) throw ParamError("similar: give --item or --user");
  if (a.common.json) {
    print_json(out);
    return;
  }
  for (const auto& e : out) {
    bool item = e.contains("item");
    fmt::print("most similar to {} {}:\n", item ? "item" : "user", e[item ? "item" : "user"].get<std::string>());
    print_list(e["similar"], item ? "item" : "user");
  }
}

void run_query_cmd(const UseArgs& a) {
  auto model = load_model(a.model_file);
  QueryOptions o;
  o.k = a.k;
  o.normalize = !a.raw_norms;
  QueryResult r = run_query(*model, a.query, o);
  const auto& names = model->labels().user_names;
  auto row_name = [&](int32_t row) { return names.empty() ? model->user_ids()->name(row) : names[row]; };
  nlohmann::json rows = nlohmann::json::array();
  for (int32_t row : r.rows) rows.push_back(row_name(row));
  nlohmann::json items = scored_list(*model, r.items, {}, true);
  for (size_t j = 0; j < r.holders.size(); ++j) {
    nlohmann::json in = nlohmann::json::array();
    for (int32_t row : r.holders[j].rows) in.push_back(row_name(row));
    items[j]["in"] = in;
    items[j]["in_count"] = r.holders[j].count;
  }
  nlohmann::json out = {{"query", a.query}, {"rows", rows}, {"items", items}};
  if (a.common.json) {
    print_json(out);
    return;
  }
  std::string used;
  for (const auto& x : rows) used += (used.empty() ? "" : ", ") + x.get<std::string>();
  fmt::print("{}   ({})\n", a.query, used);
  print_list(out["items"], "item");
}

void run_explain(const UseArgs& a) {
  auto model = load_model(a.model_file);
  if (a.users.size() != 1 || a.items.size() != 1) throw ParamError("explain: give one --user and one --item");
  int32_t u = resolve_row(*model, a.users[0]), i = model->item_ids()->at(a.items[0], "item");
  auto parts = model->explain(u, i, a.k);
  nlohmann::json list = nlohmann::json::array();
  const auto& titles = model->labels().item_titles;
  for (auto& [j, c] : parts) {
    nlohmann::json e = {{"item", model->item_ids()->name(j)}, {"contribution", c}};
    if (!titles.empty()) e["title"] = titles[j];
    list.push_back(e);
  }
  nlohmann::json out = {
      {"user", a.users[0]}, {"item", a.items[0]}, {"score", model->predict_one(u, i)}, {"because", list}};
  if (a.common.json) {
    print_json(out);
    return;
  }
  fmt::print("user {} item {}: score {:.4f}, because of:\n", a.users[0], a.items[0], out["score"].get<float>());
  for (const auto& e : list)
    fmt::print("  {:+.4f}  {}{}\n", e["contribution"].get<float>(), e["item"].get<std::string>(),
               e.contains("title") ? "  " + e["title"].get<std::string>() : "");
}

CLI::App* base(CLI::App& app, const char* name, const char* help, std::shared_ptr<UseArgs> a) {
  auto* c = app.add_subcommand(name, help);
  add_model_file(c, a->model_file, "`mfkit train --out`")->required();
  add_common(c, a->common);
  return c;
}

}  // namespace

void add_predict(CLI::App& app) {
  auto a = std::make_shared<UseArgs>();
  auto* c = base(app, "predict", "predict values for (user, item) pairs by raw id", a);
  c->add_option("--user,-u", a->users, "raw user id (repeatable, paired with --item)")->required();
  c->add_option("--item,-i", a->items, "raw item id (repeatable, paired with --user)")->required();
  c->callback([a] { run_predict(*a); });
}

void add_recommend(CLI::App& app) {
  auto a = std::make_shared<UseArgs>();
  auto* c = base(app, "recommend", "top-k items for users, excluding items they already have unless asked", a);
  c->add_option("--user,-u", a->users, "raw user id or display name (repeatable)");
  c->add_option("--items", a->fold_in,
                "recommend for a new user with these items, as item or item=value (fold-in, no retraining)")
      ->delimiter(',');
  add_k(c, a->k, "items per user");
  c->add_flag("--include-seen", a->include_seen, "also rank the user's training items");
  c->add_option("--exclude", a->exclude, "raw item ids never to recommend (repeatable)");
  c->add_option("--titles", a->titles, "dataset (or ratings file) whose item titles to show");
  c->add_flag("--exact", a->exact, "scan every item even when the model file has an approximate index");
  c->callback([a] {
    if (a->users.empty() == a->fold_in.empty())
      throw ParamError(
          "recommend: give --user (users of the model) or --items (a new user known by these items), not both");
    run_recommend(*a);
  });
}

void add_similar(CLI::App& app) {
  auto a = std::make_shared<UseArgs>();
  auto* c = base(app, "similar", "most similar items (or users) by cosine of the learned vectors", a);
  c->add_option("--item,-i", a->items, "raw item id (repeatable)");
  c->add_option("--user,-u", a->users, "raw user id (repeatable)");
  add_k(c, a->k, "neighbours to list");
  c->add_option("--titles", a->titles, "dataset (or ratings file) whose item titles to show");
  c->add_flag("--exact", a->exact, "compare with every item even when the model file has an approximate index");
  c->callback([a] { run_similar(*a); });
}

void add_query(CLI::App& app) {
  auto a = std::make_shared<UseArgs>();
  auto* c =
      base(app, "query", "items for an arithmetic expression over named rows: \"Colombia x Turkey - Germany\"", a);
  c->add_option("expression", a->query, "names joined by + - x (element-wise product) / and parentheses")->required();
  add_k(c, a->k, "items to list");
  c->add_flag("--raw-norms", a->raw_norms, "do not L2-normalise the vectors (answers lean towards popular items)");
  c->callback([a] { run_query_cmd(*a); });
}

void add_explain(CLI::App& app) {
  auto a = std::make_shared<UseArgs>();
  auto* c = base(app, "explain", "which of a user's items drove an item's score (implicit-als)", a);
  c->add_option("--user,-u", a->users, "raw user id or display name")->required();
  c->add_option("--item,-i", a->items, "raw item id")->required();
  add_k(c, a->k, "contributions to list");
  c->callback([a] { run_explain(*a); });
}

}  // namespace mfkit::cli
