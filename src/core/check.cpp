#include "core/check.h"

#include <cstring>

namespace mfkit::detail {

void check_failed(const char* file, int line, const char* cond, const std::string& what) {
  const char* src = std::strstr(file, "src/");  // the path inside the source tree
  throw InternalError(std::string(src ? src : file) + ":" + std::to_string(line) + ": " + what + " (check '" + cond +
                      "' failed; this is a bug in mfkit, please report it)");
}

}  // namespace mfkit::detail
