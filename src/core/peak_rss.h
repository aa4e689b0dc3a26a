// Internal: the process's high-water mark of resident memory.
#pragma once

#include <sys/resource.h>

#include <cstdint>

namespace mfkit {

/// The largest resident set this process has had so far, in bytes (getrusage; Linux counts KiB).
inline int64_t peak_rss_bytes() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<int64_t>(u.ru_maxrss) * 1024;
}

}  // namespace mfkit
