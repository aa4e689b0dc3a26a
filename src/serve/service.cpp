// mfkit serve: the transport-free request handling (see mfkit/serve.h).
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <map>
#include <mutex>
#include <optional>

#include "core/clock.h"
#include "core/result_json.h"
#include "data/text_file.h"
#include "mfkit/error.h"
#include "mfkit/model_file.h"
#include "mfkit/query.h"
#include "mfkit/recommend.h"
#include "mfkit/serve.h"
#include "serve/auth.h"
#include "serve/metrics.h"
#include "serve/web_page.h"

namespace mfkit {

namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;

/// A request the client got wrong: status 4xx, the field at fault and why.
struct ApiError {
  int status;
  std::string field, message;
  nlohmann::json extra = nlohmann::json::object();  // more fields for the error body
};

struct FileId {
  dev_t dev = 0;
  ino_t ino = 0;
  off_t size = -1;
  int64_t mtime_ns = 0;
  bool operator==(const FileId& o) const {
    return dev == o.dev && ino == o.ino && size == o.size && mtime_ns == o.mtime_ns;
  }
};

bool file_id(const std::string& path, FileId& id) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return false;
  id = {st.st_dev, st.st_ino, st.st_size, int64_t(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec};
  return true;
}

// Lower-cased search keys for /v1/entities, made once per loaded model rather than per request.
struct EntityKeys {
  std::vector<std::string> name;  // display name lower-cased (the raw id when there are no names)
  std::vector<std::string> id;    // raw id lower-cased
  EntityKeys(const IdMap& ids, const std::vector<std::string>& names) {
    for (int32_t n = 0; n < ids.size(); ++n) {
      name.push_back(names.empty() ? ids.name(n) : ascii_lower(names[n]));
      id.push_back(ascii_lower(ids.name(n)));
    }
  }
};

struct Loaded {
  std::unique_ptr<Model> model;
  FileId id;
  std::string loaded_at;
  uint64_t generation = 0;
  std::unique_ptr<EntityKeys> user_keys, item_keys;
};

struct Slot {
  std::string name, path;
  std::shared_ptr<const Loaded> current;  // read and swapped with std::atomic_load/store
  FileId failed;                          // identity of a file that failed to load (not retried)
};

std::shared_ptr<const Loaded> load_slot(const std::string& path, uint64_t generation) {
  auto l = std::make_shared<Loaded>();
  // Identity first: a file replaced during the read is seen as changed again next time.
  if (!file_id(path, l->id)) throw InputError(path, 0, "model file not found");
  l->model = load_model(path);
  l->user_keys = std::make_unique<EntityKeys>(*l->model->user_ids(), l->model->labels().user_names);
  l->item_keys = std::make_unique<EntityKeys>(*l->model->item_ids(), l->model->labels().item_titles);
  l->loaded_at = utc_timestamp();
  l->generation = generation;
  return l;
}

// The query parameters of one request, checked against the endpoint's allowed names.
class Args {
 public:
  Args(const Params& p, std::initializer_list<const char*> allowed) : p_(p) {
    for (const auto& kv : p) {
      const std::string &key = kv.first, &value = kv.second;
      if (!valid_utf8(key) || !valid_utf8(value))
        throw ApiError{400, valid_utf8(key) ? key : "", "parameter is not valid UTF-8"};
      if (std::find_if(allowed.begin(), allowed.end(), [&](const char* a) { return key == a; }) == allowed.end()) {
        std::string names;
        for (const char* a : allowed) names += std::string(names.empty() ? "" : ", ") + a;
        throw ApiError{400, key, "unknown parameter '" + key + "' (this endpoint takes: " + names + ")"};
      }
      if (p.count(key) > 1) throw ApiError{400, key, "parameter '" + key + "' is given more than once"};
    }
  }
  bool has(const std::string& k) const { return p_.count(k) > 0; }
  std::string str(const std::string& k, const std::string& def = "") const {
    auto it = p_.find(k);
    return it == p_.end() ? def : it->second;
  }
  std::string required(const std::string& k) const {
    auto it = p_.find(k);
    if (it == p_.end() || it->second.empty()) throw ApiError{400, k, "parameter '" + k + "' is required"};
    return it->second;
  }
  int integer(const std::string& k, int def, int lo, int hi) const {
    auto it = p_.find(k);
    if (it == p_.end()) return def;
    const std::string& s = it->second;
    char* end = nullptr;
    errno = 0;
    long v = s.empty() ? 0 : std::strtol(s.c_str(), &end, 10);
    if (s.empty() || *end != '\0' || errno == ERANGE || v < lo || v > hi)
      throw ApiError{400, k,
                     "parameter '" + k + "' must be an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) +
                         "], got '" + s.substr(0, 40) + "'"};
    return static_cast<int>(v);
  }
  bool boolean(const std::string& k, bool def) const {
    auto it = p_.find(k);
    if (it == p_.end()) return def;
    std::string v = ascii_lower(it->second);
    if (v == "true" || v == "1" || v == "yes") return true;
    if (v == "false" || v == "0" || v == "no") return false;
    throw ApiError{400, k, "parameter '" + k + "' must be true or false"};
  }
  std::vector<std::string> list(const std::string& k) const {
    std::vector<std::string> out;
    std::string s = str(k);
    size_t start = 0;
    while (start <= s.size() && !s.empty()) {
      size_t comma = s.find(',', start);
      if (comma == std::string::npos) comma = s.size();
      if (comma > start) out.push_back(s.substr(start, comma - start));
      start = comma + 1;
    }
    return out;
  }

 private:
  const Params& p_;
};

enum Endpoint {
  kRecommend,
  kSimilar,
  kPredict,
  kQuery,
  kEntities,
  kHealth,
  kMetrics,
  kMetricsJson,
  kPage,
  kOther,
  kEndpoints
};
const char* const kEndpointNames[] = {"recommend", "similar", "predict",      "query", "entities",
                                      "healthz",   "metrics", "metrics.json", "page",  "other"};

}  // namespace

struct Service::Impl {
  ServeOptions opt;
  std::optional<ApiKey> key;
  std::vector<std::unique_ptr<Slot>> slots;
  std::array<EndpointStats, kEndpoints> stats;
  std::atomic<uint64_t> reloads{0}, reload_failures{0}, generation{0};
  std::mutex reload_mutex;
  Clock::time_point started = Clock::now();
  std::function<ConnectionStats()> connections;  // set by the Server

  std::shared_ptr<const Loaded> model(const Args& a) const {
    std::string name = a.str("model");
    if (name.empty()) return std::atomic_load(&slots.front()->current);
    for (const auto& s : slots)
      if (s->name == name) return std::atomic_load(&s->current);
    std::string names;
    for (const auto& s : slots) names += (names.empty() ? "" : ", ") + s->name;
    throw ApiError{404, "model", "no model named '" + name.substr(0, 80) + "' is served (served: " + names + ")"};
  }

  static int32_t user_index(const Model& m, const std::string& field, const std::string& raw) {
    int32_t u = m.user_ids()->find(raw);
    if (u >= 0) return u;
    try {
      return resolve_row(m, raw);
    } catch (const NotFoundError& e) {
      throw ApiError{404, field, e.what()};
    }
  }
  static int32_t item_index(const Model& m, const std::string& field, const std::string& raw) {
    int32_t i = m.item_ids()->find(raw);
    if (i < 0) throw ApiError{404, field, "unknown item '" + raw.substr(0, 200) + "'"};
    return i;
  }

  json recommend(const Params& p) const {
    Args a(p, {"user", "items", "values", "k", "filter_seen", "exclude", "candidates", "model", "exact"});
    auto l = model(a);
    const Model& m = *l->model;
    RecommendOptions ro;
    ro.k = a.integer("k", 10, 1, opt.max_k);
    ro.filter_seen = a.boolean("filter_seen", true);
    ro.exact = a.boolean("exact", opt.exact);
    for (const auto& raw : a.list("exclude")) ro.exclude.push_back(item_index(m, "exclude", raw));
    for (const auto& raw : a.list("candidates")) ro.candidates.push_back(item_index(m, "candidates", raw));
    if (a.has("items") == a.has("user"))
      throw ApiError{400, "user", "give either user (a known user) or items (a new user's items, comma-separated)"};
    json out = {{"model_generation", l->generation}};
    if (a.has("user")) {
      int32_t u = user_index(m, "user", a.required("user"));
      auto lists = mfkit::recommend(m, {u}, ro, Context{});
      out["user"] = user_json(m, u);
      out["items"] = scored_json(m, lists[0]);
      return out;
    }
    std::vector<int32_t> items;
    for (const auto& raw : a.list("items")) items.push_back(item_index(m, "items", raw));
    if (items.empty()) throw ApiError{400, "items", "parameter 'items' lists no item"};
    if (items.size() > 10000) throw ApiError{400, "items", "at most 10000 items may be folded in"};
    // values: one per item (a rating, a play count); default 1 (implicit feedback).
    std::vector<float> values(items.size(), 1.0f);
    if (a.has("values")) {
      auto raw = a.list("values");
      if (raw.size() != items.size())
        throw ApiError{
            400, "values",
            "values lists " + std::to_string(raw.size()) + " numbers for " + std::to_string(items.size()) + " items"};
      for (size_t k = 0; k < raw.size(); ++k) {
        char* end = nullptr;
        double v = std::strtod(raw[k].c_str(), &end);
        if (*end != '\0' || !std::isfinite(v))
          throw ApiError{400, "values", "'" + raw[k].substr(0, 40) + "' is not a finite number"};
        values[k] = static_cast<float>(v);
      }
    }
    try {
      out["items"] = scored_json(m, recommend_new_user(m, items, values, ro));
    } catch (const Error& e) {  // ids are checked above: this is a model that cannot fold in
      throw ApiError{400, "items", e.what()};
    }
    return out;
  }

  json similar(const Params& p) const {
    Args a(p, {"item", "user", "k", "model", "exact"});
    auto l = model(a);
    const Model& m = *l->model;
    int k = a.integer("k", 10, 1, opt.max_k);
    RecommendOptions so;
    so.k = k;
    so.exact = a.boolean("exact", opt.exact);
    if (a.has("item") == a.has("user")) throw ApiError{400, "item", "give either item or user"};
    try {
      if (a.has("item")) {
        int32_t i = item_index(m, "item", a.required("item"));
        return {{"item", m.item_ids()->name(i)}, {"items", scored_json(m, similar_items(m, {i}, so)[0])}};
      }
      int32_t u = user_index(m, "user", a.required("user"));
      return {{"user", user_json(m, u)}, {"users", scored_json(m, similar_users(m, u, k), true)}};
    } catch (const ApiError&) {
      throw;
    } catch (const Error& e) {
      throw ApiError{400, a.has("item") ? "item" : "user", e.what()};
    }
  }

  json predict(const Params& p) const {
    Args a(p, {"user", "item", "model"});
    auto l = model(a);
    const Model& m = *l->model;
    int32_t u = user_index(m, "user", a.required("user"));
    int32_t i = item_index(m, "item", a.required("item"));
    return {{"user", m.user_ids()->name(u)}, {"item", m.item_ids()->name(i)}, {"prediction", m.predict_one(u, i)}};
  }

  json query(const Params& p) const {
    Args a(p, {"q", "k", "model", "raw_norms"});
    auto l = model(a);
    const Model& m = *l->model;
    std::string q = a.required("q");
    if (static_cast<int>(q.size()) > opt.max_query_length)
      throw ApiError{400, "q",
                     "expression is " + std::to_string(q.size()) + " bytes; at most " +
                         std::to_string(opt.max_query_length) + " are accepted"};
    QueryOptions qo;
    qo.k = a.integer("k", 10, 1, opt.max_k);
    qo.normalize = !a.boolean("raw_norms", false);
    qo.max_depth = 32;
    qo.max_length = static_cast<size_t>(opt.max_query_length);
    try {
      QueryResult r = run_query(m, q, qo);
      json rows = json::array();
      for (int32_t u : r.rows) rows.push_back(user_json(m, u));
      json items = scored_json(m, r.items);
      for (size_t j = 0; j < r.holders.size(); ++j) {
        json in = json::array();
        for (int32_t u : r.holders[j].rows) in.push_back(user_json(m, u));
        items[j]["in"] = in;
        items[j]["in_count"] = r.holders[j].count;
      }
      return {{"query", q}, {"rows", rows}, {"items", items}};
    } catch (const QueryError& e) {
      throw ApiError{400, "q", e.what(), {{"position", e.position()}}};
    } catch (const NotFoundError& e) {
      throw ApiError{404, "q", e.what()};
    } catch (const Error& e) {
      throw ApiError{400, "q", e.what()};
    }
  }

  json entities(const Params& p) const {
    Args a(p, {"kind", "prefix", "limit", "model"});
    auto l = model(a);
    const Model& m = *l->model;
    std::string kind = a.str("kind", "users");
    if (kind != "users" && kind != "items") throw ApiError{400, "kind", "kind must be users or items"};
    int limit = a.integer("limit", 20, 1, 1000);
    std::string prefix = ascii_lower(a.str("prefix"));
    bool users = kind == "users";
    const IdMap& ids = users ? *m.user_ids() : *m.item_ids();
    const auto& names = users ? m.labels().user_names : m.labels().item_titles;
    const EntityKeys& keys = users ? *l->user_keys : *l->item_keys;
    const std::string word = " " + prefix;
    // Rank: name starts with the prefix, then a later word of the name does, then the id does.
    std::vector<std::pair<int, int32_t>> hits;
    for (int32_t n = 0; n < ids.size(); ++n) {
      const std::string& name = keys.name[n];
      int rank = -1;
      if (prefix.empty() || name.rfind(prefix, 0) == 0)
        rank = 0;
      else if (name.find(word) != std::string::npos)
        rank = 1;
      else if (keys.id[n].rfind(prefix, 0) == 0)
        rank = 2;
      if (rank >= 0) hits.push_back({rank, n});
    }
    auto key = [&](int32_t n) { return names.empty() ? ids.name(n) : names[n]; };
    std::sort(hits.begin(), hits.end(), [&](const auto& x, const auto& y) {
      return x.first != y.first ? x.first < y.first : key(x.second) < key(y.second);
    });
    json out = json::array();
    for (size_t h = 0; h < hits.size() && static_cast<int>(h) < limit; ++h) {
      int32_t n = hits[h].second;
      json e = {{"id", ids.name(n)}};
      if (!names.empty()) e["name"] = names[n];
      if (!users && !m.labels().item_categories.empty()) e["category"] = m.labels().item_categories[n];
      out.push_back(e);
    }
    return {{"kind", kind}, {"total", hits.size()}, {"entities", out}};
  }

  json health() const {
    json models = json::array();
    for (const auto& s : slots) {
      auto l = std::atomic_load(&s->current);
      // No file path: /healthz needs no key, and the server's folders are nobody's business.
      models.push_back({{"name", s->name},
                        {"type", l->model->type()},
                        {"users", l->model->n_users()},
                        {"items", l->model->n_items()},
                        {"loaded_at", l->loaded_at},
                        {"generation", l->generation}});
    }
    return {{"status", "ok"}, {"models", models}};
  }
};

Service::Service(ServeOptions opt) : impl_(std::make_unique<Impl>()) {
  if (opt.models.empty()) throw ParamError("serve: no model given (-f/--model-file NAME=FILE or -f FILE)");
  if (opt.max_k < 1) throw ParamError("serve: max_k must be at least 1");
  impl_->opt = std::move(opt);
  if (!impl_->opt.api_key_file.empty()) impl_->key = ApiKey::from_file(impl_->opt.api_key_file);
  for (const auto& [name, path] : impl_->opt.models) {
    for (const auto& s : impl_->slots)
      if (s->name == name) throw ParamError("serve: two models are named '" + name + "'");
    auto slot = std::make_unique<Slot>();
    slot->name = name;
    slot->path = path;
    slot->current = load_slot(path, ++impl_->generation);
    impl_->slots.push_back(std::move(slot));
  }
}

Service::~Service() = default;

const ServeOptions& Service::options() const { return impl_->opt; }

int Service::reload_changed() {
  std::lock_guard<std::mutex> lock(impl_->reload_mutex);
  int n = 0;
  for (auto& s : impl_->slots) {
    FileId id;
    if (!file_id(s->path, id)) continue;  // mid-replace or removed: keep serving the old one
    auto cur = std::atomic_load(&s->current);
    if (id == cur->id || id == s->failed) continue;
    try {
      auto next = load_slot(s->path, impl_->generation + 1);
      ++impl_->generation;
      std::atomic_store(&s->current, next);
      ++impl_->reloads;
      ++n;
      if (!impl_->opt.quiet)
        spdlog::info("serve: reloaded model '{}' from {} ({} users, {} items)", s->name, s->path,
                     next->model->n_users(), next->model->n_items());
    } catch (const std::exception& e) {
      s->failed = id;
      ++impl_->reload_failures;
      if (!impl_->opt.quiet) spdlog::error("serve: model '{}' not reloaded, the old one stays: {}", s->name, e.what());
    }
  }
  return n;
}

json Service::metrics() const {
  json eps = json::object();
  for (int e = 0; e < kEndpoints; ++e)
    if (impl_->stats[e].latency.count() > 0) eps[kEndpointNames[e]] = impl_->stats[e].to_json();
  double up = std::chrono::duration<double>(Clock::now() - impl_->started).count();
  json out = {{"uptime_s", up},
              {"endpoints", eps},
              {"reloads", impl_->reloads.load()},
              {"reload_failures", impl_->reload_failures.load()}};
  if (impl_->connections) {
    ConnectionStats c = impl_->connections();
    out["connections"] = {
        {"open", c.open}, {"accepted", c.accepted}, {"refused", c.refused}, {"timed_out", c.timed_out}};
  }
  return out;
}

std::string Service::metrics_text() const {
  ServiceGauges g;
  g.uptime_s = std::chrono::duration<double>(Clock::now() - impl_->started).count();
  g.reloads = impl_->reloads.load();
  g.reload_failures = impl_->reload_failures.load();
  for (const auto& s : impl_->slots) {
    auto l = std::atomic_load(&s->current);
    g.models.push_back({s->name, l->model->type(), l->generation, l->model->n_users(), l->model->n_items()});
  }
  if (impl_->connections) g.connections = impl_->connections();
  return prometheus_text(impl_->stats.data(), kEndpointNames, kEndpoints, g);
}

Response Service::handle(const std::string& path, const Params& params) {
  Request req;
  req.path = path;
  req.params = params;
  return handle(req);
}

namespace {

Endpoint endpoint_of(const std::string& path) {
  static const std::map<std::string, Endpoint> kPaths = {
      {"/v1/recommend", kRecommend}, {"/v1/similar", kSimilar},       {"/v1/predict", kPredict},
      {"/v1/query", kQuery},         {"/v1/entities", kEntities},     {"/healthz", kHealth},
      {"/metrics", kMetrics},        {"/metrics.json", kMetricsJson}, {"/", kPage},
      {"/index.html", kPage}};
  auto found = kPaths.find(path);
  return found == kPaths.end() ? kOther : found->second;
}

Response error_body(int status, const std::string& field, const std::string& message) {
  Response r;
  r.status = status;
  r.body = json{{"error", message}, {"field", field}}.dump(-1, ' ', false, json::error_handler_t::replace);
  return r;
}

}  // namespace

Response Service::error(int status, const std::string& field, const std::string& message) {
  Response r = error_body(status, field, message);
  impl_->stats[kOther].record(status, 0.0);
  return r;
}

std::optional<Response> Service::admit(const Request& req) {
  const Endpoint ep = endpoint_of(req.path);
  std::optional<Response> r;
  if (req.method != "GET" && req.method != "HEAD") {
    r = error_body(405, "method", "only GET and HEAD are supported");
    r->headers.emplace_back("Allow", "GET, HEAD");
  } else if (impl_->key && ep != kHealth && !impl_->key->accepts(req.authorization)) {
    r = error_body(401, "authorization",
                   req.authorization.empty() ? "this server needs an API key: send Authorization: Bearer <key>"
                                             : "the API key is wrong");
    r->headers.emplace_back("WWW-Authenticate", "Bearer realm=\"mfkit\"");
  }
  if (r) impl_->stats[ep].record(r->status, 0.0);
  return r;
}

void Service::set_connection_stats(std::function<ConnectionStats()> stats) { impl_->connections = std::move(stats); }

Response Service::handle(const Request& req) {
  auto t0 = Clock::now();
  const Params& params = req.params;
  const Endpoint ep = endpoint_of(req.path);
  Response r;
  json body;
  if (std::optional<Response> refused = admit(req)) return *refused;
  try {
    switch (ep) {
      case kRecommend:
        body = impl_->recommend(params);
        break;
      case kSimilar:
        body = impl_->similar(params);
        break;
      case kPredict:
        body = impl_->predict(params);
        break;
      case kQuery:
        body = impl_->query(params);
        break;
      case kEntities:
        body = impl_->entities(params);
        break;
      case kHealth:
        body = impl_->health();
        break;
      case kMetricsJson:
        body = metrics();
        break;
      case kMetrics:
        r.body = metrics_text();
        r.content_type = "text/plain; version=0.0.4; charset=utf-8";
        break;
      case kPage:
        r.body = web_page_html();
        r.content_type = "text/html; charset=utf-8";
        break;
      default:
        throw ApiError{404, "path", "no such path (see /healthz; the API is under /v1/)"};
    }
  } catch (const ApiError& e) {
    r.status = e.status;
    body = e.extra;
    body["error"] = e.message;
    body["field"] = e.field;
  } catch (const std::exception& e) {
    r.status = 500;
    body = {{"error", std::string("internal error: ") + e.what()}};
  }
  if (r.body.empty()) r.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
  impl_->stats[ep].record(r.status, std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
  return r;
}

}  // namespace mfkit
