#include "mfkit/models/biased_mf.h"

#include <gtest/gtest.h>

#include "mfkit/error.h"

namespace mfkit {
namespace {

TEST(BiasedMfGrid, SquareUntilTheUsersRowsAreLargeThenFiveItemBands) {
  BiasedMfParams p;
  p.factors = 64;  // a user's SGD row: 64 factors and one line of bias and accumulators, 320 bytes
  EXPECT_EQ(p.grid(2, 6040), std::make_pair(20, 20));
  EXPECT_EQ(p.grid(2, 400000), std::make_pair(20, 20));  // 122 MiB
  EXPECT_EQ(p.grid(2, 450000), std::make_pair(20, 5));   // 137 MiB
  EXPECT_EQ(p.grid(8, 450000), std::make_pair(20, 17));  // at least 2*threads+1 bands
  EXPECT_EQ(p.grid(16, 450000), std::make_pair(33, 33));
  p.factors = 128;  // 576 bytes a row
  EXPECT_EQ(p.grid(2, 240000), std::make_pair(20, 5));
}

TEST(BiasedMfGrid, ExplicitBandsWinAndTooFewAreRefused) {
  BiasedMfParams p;
  p.blocks = 9;
  EXPECT_EQ(p.grid(2, 100), std::make_pair(9, 9));
  EXPECT_EQ(p.grid(2, 10000000), std::make_pair(9, 5));
  p.item_blocks = 30;
  EXPECT_EQ(p.grid(2, 10000000), std::make_pair(9, 30));
  p.item_blocks = 4;
  EXPECT_THROW(p.grid(2, 100), ParamError);
  EXPECT_EQ(p.grid(1, 100), std::make_pair(9, 4));  // one thread: any grid
  p.item_blocks = -1;
  EXPECT_THROW(p.validate(), ParamError);
}

}  // namespace
}  // namespace mfkit
