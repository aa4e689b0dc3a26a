// mfkit/context.h - run-time settings passed into every long computation (no globals).
#pragma once

#include <cstdint>

namespace mfkit {

struct Context {
  int threads = 1;    ///< worker threads for OpenMP loops; each runs single-threaded kernels
  uint64_t seed = 1;  ///< seed for every random choice; same seed + threads=1 gives identical output
};

}  // namespace mfkit
