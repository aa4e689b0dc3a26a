// Internal: the order of top-N answers, shared by the selection kernel (kernels/scores.cpp) and
// the paths that rank a few candidates themselves (core/recommend.cpp).
#pragma once

#include <cstdint>

#include "mfkit/recommend.h"

namespace mfkit {

/// Orders entries by score, then by tie rank (lower first), or by index without one.
struct Better {
  const int32_t* tie;
  bool operator()(const Scored& a, const Scored& b) const {
    if (a.score != b.score) return a.score > b.score;
    return tie ? tie[a.index] < tie[b.index] : a.index < b.index;
  }
};

}  // namespace mfkit
