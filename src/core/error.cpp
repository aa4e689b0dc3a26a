#include "mfkit/error.h"

namespace mfkit {

static std::string where(const std::string& file, int64_t line) {
  return line > 0 ? file + ":" + std::to_string(line) : file;
}

InputError::InputError(std::string file, int64_t line, const std::string& problem)
    : Error(where(file, line) + ": " + problem), file_(std::move(file)), line_(line), problem_(problem) {}

}  // namespace mfkit
