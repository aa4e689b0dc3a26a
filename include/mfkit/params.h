// mfkit/params.h - parameter structs declared once, read by the CLI, `mfkit models` and files.
//
// A model's parameters are a plain struct with defaults on its members and a
// `void visit(ParamVisitor& v)` that names each member once, with its help text and range:
//
//   struct MyParams {
//     int factors = 64;
//     void visit(ParamVisitor& v) {
//       v.param("factors", factors, "latent dimension: more capacity, linear cost", 1, 4096);
//     }
//   };
//
// From that one declaration come JSON (de)serialisation with validation (unknown keys,
// wrong types and out-of-range values raise ParamError naming the key and the allowed range)
// and the descriptions `mfkit models` prints.
#pragma once

#include <nlohmann/json.hpp>

#include <functional>
#include <string>
#include <vector>

namespace mfkit {

class ParamVisitor {
 public:
  virtual ~ParamVisitor() = default;
  virtual void param(const char* name, int& value, const char* help, double lo, double hi) = 0;
  virtual void param(const char* name, double& value, const char* help, double lo, double hi) = 0;
  virtual void param(const char* name, bool& value, const char* help) = 0;
  /// A string; when `choices` is non-empty the value must be one of them.
  virtual void param(const char* name, std::string& value, const char* help,
                     const std::vector<std::string>& choices) = 0;
};

/// One parameter as `mfkit models` shows it.
struct ParamInfo {
  std::string name;
  std::string type;  ///< "int", "float", "bool", "string"
  nlohmann::json default_value;
  std::string help;
  double lo = 0, hi = 0;             ///< range for numbers
  std::vector<std::string> choices;  ///< allowed strings, if restricted
  std::string allowed() const;       ///< "[1, 4096]", "one of a|b", ...
};

namespace detail {
nlohmann::json to_json(const std::function<void(ParamVisitor&)>& visit);
void from_json(const std::function<void(ParamVisitor&)>& visit, const nlohmann::json& j, const std::string& owner);
std::vector<ParamInfo> describe(const std::function<void(ParamVisitor&)>& visit);
}  // namespace detail

template <class P>
nlohmann::json params_to_json(P& p) {
  return detail::to_json([&](ParamVisitor& v) { p.visit(v); });
}
/// Sets the keys present in `j`; throws ParamError for an unknown key, wrong type or range.
template <class P>
void params_from_json(P& p, const nlohmann::json& j, const std::string& owner) {
  detail::from_json([&](ParamVisitor& v) { p.visit(v); }, j, owner);
}
template <class P>
std::vector<ParamInfo> describe_params() {
  P p;
  return detail::describe([&](ParamVisitor& v) { p.visit(v); });
}

/// Turns "key=value" strings into JSON, reading value as number, bool or string.
nlohmann::json parse_key_values(const std::vector<std::string>& assignments);

}  // namespace mfkit
