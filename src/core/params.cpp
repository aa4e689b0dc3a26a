#include "mfkit/params.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>

#include "core/json.h"
#include "mfkit/error.h"

namespace mfkit {

std::string ParamInfo::allowed() const {
  if (type == "bool") return "true|false";
  if (type == "string") {
    if (choices.empty()) return "any text";
    std::string s = "one of ";
    for (size_t i = 0; i < choices.size(); ++i) s += (i ? "|" : "") + choices[i];
    return s;
  }
  return fmt::format("[{}, {}]", lo, hi);
}

namespace {

using nlohmann::json;

struct ToJson : ParamVisitor {
  json out = json::object();
  void param(const char* n, int& v, const char*, double, double) override { out[n] = v; }
  void param(const char* n, double& v, const char*, double, double) override { out[n] = v; }
  void param(const char* n, bool& v, const char*) override { out[n] = v; }
  void param(const char* n, std::string& v, const char*, const std::vector<std::string>&) override { out[n] = v; }
};

struct Describe : ParamVisitor {
  std::vector<ParamInfo> out;
  void param(const char* n, int& v, const char* h, double lo, double hi) override {
    out.push_back({n, "int", v, h, lo, hi, {}});
  }
  void param(const char* n, double& v, const char* h, double lo, double hi) override {
    out.push_back({n, "float", v, h, lo, hi, {}});
  }
  void param(const char* n, bool& v, const char* h) override { out.push_back({n, "bool", v, h, 0, 0, {}}); }
  void param(const char* n, std::string& v, const char* h, const std::vector<std::string>& c) override {
    out.push_back({n, "string", v, h, 0, 0, c});
  }
};

struct FromJson : ParamVisitor {
  const json& in;
  std::string owner;
  size_t used = 0;
  FromJson(const json& j, std::string o) : in(j), owner(std::move(o)) {}

  [[noreturn]] void fail(const char* n, const std::string& why) const {
    throw ParamError(fmt::format("{}: parameter '{}' {}", owner, n, why));
  }
  const json* get(const char* n) {
    auto it = in.find(n);
    if (it == in.end()) return nullptr;
    ++used;
    return &*it;
  }
  double number(const char* n, const json& j, double lo, double hi) const {
    if (!j.is_number()) fail(n, "must be a number, got " + show_json(j));
    double x = j.get<double>();
    if (!std::isfinite(x) || x < lo || x > hi)
      fail(n, fmt::format("= {} is outside the allowed range [{}, {}]", show_json(j), lo, hi));
    return x;
  }
  void param(const char* n, int& v, const char*, double lo, double hi) override {
    if (const json* j = get(n)) {
      double x = number(n, *j, lo, hi);
      if (x != std::floor(x)) fail(n, "must be a whole number, got " + show_json(*j));
      v = static_cast<int>(x);
    }
  }
  void param(const char* n, double& v, const char*, double lo, double hi) override {
    if (const json* j = get(n)) v = number(n, *j, lo, hi);
  }
  void param(const char* n, bool& v, const char*) override {
    if (const json* j = get(n)) {
      if (!j->is_boolean()) fail(n, "must be true or false, got " + show_json(*j));
      v = j->get<bool>();
    }
  }
  void param(const char* n, std::string& v, const char*, const std::vector<std::string>& c) override {
    if (const json* j = get(n)) {
      if (!j->is_string()) fail(n, "must be a string, got " + show_json(*j));
      std::string s = j->get<std::string>();
      if (!c.empty() && std::find(c.begin(), c.end(), s) == c.end()) {
        std::string all;
        for (auto& x : c) all += (all.empty() ? "" : "|") + x;
        fail(n, "= '" + s + "' is not one of " + all);
      }
      v = s;
    }
  }
};

}  // namespace

namespace detail {

json to_json(const std::function<void(ParamVisitor&)>& visit) {
  ToJson v;
  visit(v);
  return v.out;
}

void from_json(const std::function<void(ParamVisitor&)>& visit, const json& j, const std::string& owner) {
  if (j.is_null()) return;
  if (!j.is_object())
    throw ParamError(owner + ": parameters must be a JSON object, got " + show_json(j).substr(0, 200));
  FromJson v(j, owner);
  visit(v);
  if (v.used != j.size()) {
    Describe d;
    visit(d);
    for (auto it = j.begin(); it != j.end(); ++it) {
      bool known = false;
      for (auto& p : d.out) known = known || p.name == it.key();
      if (!known) {
        std::string names;
        for (auto& p : d.out) names += (names.empty() ? "" : ", ") + p.name;
        throw ParamError(owner + ": unknown parameter '" + it.key() + "' (valid: " + names + ")");
      }
    }
  }
}

std::vector<ParamInfo> describe(const std::function<void(ParamVisitor&)>& visit) {
  Describe d;
  visit(d);
  return d.out;
}

}  // namespace detail

json parse_key_values(const std::vector<std::string>& assignments) {
  json out = json::object();
  for (const auto& a : assignments) {
    auto eq = a.find('=');
    if (eq == std::string::npos || eq == 0) throw ParamError("--set '" + a + "': expected key=value");
    std::string key = a.substr(0, eq), val = a.substr(eq + 1);
    if (val == "true" || val == "false") {
      out[key] = (val == "true");
      continue;
    }
    double d;
    auto r = std::from_chars(val.data(), val.data() + val.size(), d);
    if (r.ec == std::errc() && r.ptr == val.data() + val.size() && !val.empty()) {
      if (!std::isfinite(d)) throw ParamError("--set " + key + "=" + val + ": not a finite number");
      long long i;
      auto ri = std::from_chars(val.data(), val.data() + val.size(), i);
      if (ri.ec == std::errc() && ri.ptr == val.data() + val.size())
        out[key] = i;
      else
        out[key] = d;
    } else {
      out[key] = val;
    }
  }
  return out;
}

}  // namespace mfkit
