// Internal: the one way mfkit reads JSON it did not write itself in this process (model-file
// headers, sharded manifests, --config, parameters from Python, stored index parameters).
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

#include "mfkit/error.h"

namespace mfkit {

/// Deepest nesting accepted. Parameters and headers nest a few levels; a file nested thousands
/// deep is crafted, and copying or printing it would recurse once per level.
constexpr int kMaxJsonDepth = 64;

/// Invalid JSON, or JSON nested deeper than kMaxJsonDepth. what() is the problem alone (no
/// path): callers name the file or argument in their own error type.
class JsonError : public Error {
 public:
  using Error::Error;
};

/// Parses `text`; JsonError when it is not JSON or nests deeper than `max_depth`.
nlohmann::json parse_json(std::string_view text, int max_depth = kMaxJsonDepth);

/// `j` as compact text that never throws: bytes that are not UTF-8 become U+FFFD, and a
/// non-finite number is written as nan, inf or -inf (JSON has no spelling for them).
std::string show_json(const nlohmann::json& j);

}  // namespace mfkit
