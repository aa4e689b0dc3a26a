#include "mfkit/recommend.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace mfkit {
namespace {

TEST(TopK, ReturnsBestFirstAndSkipsMinusInfinity) {
  const float ninf = -std::numeric_limits<float>::infinity();
  std::vector<float> s = {0.1f, 0.9f, ninf, 0.5f, 0.9f, 0.3f};
  auto t = top_k(s.data(), static_cast<int32_t>(s.size()), 3);
  ASSERT_EQ(t.size(), 3u);
  EXPECT_EQ(t[0].index, 1);  // ties broken by the lower index
  EXPECT_EQ(t[1].index, 4);
  EXPECT_EQ(t[2].index, 3);
  auto all = top_k(s.data(), static_cast<int32_t>(s.size()), 10);
  EXPECT_EQ(all.size(), 5u);  // the -inf entry is never returned
}

}  // namespace
}  // namespace mfkit
