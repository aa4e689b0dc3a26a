#include "core/json.h"

#include <cmath>

namespace mfkit {

nlohmann::json parse_json(std::string_view text, int max_depth) {
  // The callback sees every value with its depth as the parser meets it, before anything deeper
  // is read: a crafted file is refused at the first level past the limit.
  auto limit = [max_depth](int depth, nlohmann::json::parse_event_t, nlohmann::json&) {
    if (depth > max_depth) throw JsonError("nested deeper than " + std::to_string(max_depth) + " levels");
    return true;
  };
  try {
    return nlohmann::json::parse(text.begin(), text.end(), limit);
  } catch (const nlohmann::json::exception& e) {
    std::string what = e.what();
    // "[json.exception.parse_error.101] parse error at line 1, column 2: ..." -> from "parse error".
    const size_t at = what.find("] ");
    throw JsonError("invalid JSON: " + (at == std::string::npos ? what : what.substr(at + 2)));
  }
}

std::string show_json(const nlohmann::json& j) {
  if (j.is_number_float() && !std::isfinite(j.get<double>())) {
    const double x = j.get<double>();
    return std::isnan(x) ? "nan" : x > 0 ? "inf" : "-inf";
  }
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace mfkit
