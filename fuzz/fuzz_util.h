// Helpers of the fuzz targets (libFuzzer; see scripts/fuzz.sh and docs/security.md).
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <string>

namespace mfkit::fuzz {

/// A path naming these bytes: an in-memory file reused by every call (no disk traffic).
inline std::string as_file(const uint8_t* data, size_t size) {
  static int fd = ::memfd_create("mfkit-fuzz", MFD_CLOEXEC);
  if (fd < 0 || ::ftruncate(fd, 0) != 0) std::abort();
  for (size_t put = 0; put < size;) {
    ssize_t w = ::pwrite(fd, data + put, size - put, static_cast<off_t>(put));
    if (w <= 0) std::abort();
    put += static_cast<size_t>(w);
  }
  return "/proc/self/fd/" + std::to_string(fd);
}

}  // namespace mfkit::fuzz
