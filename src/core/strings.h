// Internal: small string helpers every layer may use.
#pragma once

#include <cctype>
#include <string>

namespace mfkit {

/// `s` with ASCII letters lower-cased (other bytes, UTF-8 included, unchanged).
inline std::string ascii_lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace mfkit
