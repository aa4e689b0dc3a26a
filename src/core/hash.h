// Internal: a string hash that is the same on every machine and build (std::hash need not be).
#pragma once

#include <cstdint>
#include <string_view>

namespace mfkit {

/// 64-bit FNV-1a of the bytes of `s`.
inline uint64_t fnv1a(std::string_view s) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ULL;
  return h;
}

}  // namespace mfkit
