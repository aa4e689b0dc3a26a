#include "core/check.h"

#include <gtest/gtest.h>

#include <string>

namespace mfkit {
namespace {

TEST(Check, PassingConditionDoesNothing) { EXPECT_NO_THROW(MFKIT_CHECK(1 + 1 == 2, "arithmetic")); }

TEST(Check, FailureIsAnInternalErrorNotAUserError) {
  int counts = 3;
  try {
    MFKIT_CHECK(counts == 2, "one count per rank");
    FAIL() << "no exception";
  } catch (const Error&) {
    FAIL() << "an internal invariant must not look like a user error (the CLI would exit 1, not 3)";
  } catch (const InternalError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("check_test.cpp:"), std::string::npos) << what;
    EXPECT_NE(what.find("one count per rank"), std::string::npos) << what;
    EXPECT_NE(what.find("counts == 2"), std::string::npos) << what;
    EXPECT_NE(what.find("bug in mfkit"), std::string::npos) << what;
  }
}

}  // namespace
}  // namespace mfkit
