// Internal: the assertion tier. MFKIT_CHECK(cond, what) throws mfkit::InternalError naming the
// file, line and condition when `cond` is false. It is for invariants mfkit itself guarantees
// (sizes its own code computed, states no input can reach), never for checking input: a user's
// mistake is an mfkit::Error that says what to change. Always on, in every build type: the
// checks sit outside inner loops, and a wrong answer costs more than a branch.
#pragma once

#include <string>

#include "mfkit/error.h"

namespace mfkit::detail {
[[noreturn]] void check_failed(const char* file, int line, const char* cond, const std::string& what);
}  // namespace mfkit::detail

#define MFKIT_CHECK(cond, what)                                                  \
  do {                                                                           \
    if (!(cond)) ::mfkit::detail::check_failed(__FILE__, __LINE__, #cond, what); \
  } while (0)
