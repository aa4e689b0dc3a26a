#include "kernels/sgd.h"

#include <gtest/gtest.h>

#include <cmath>

#include "mfkit/data.h"
#include "test_util.h"

namespace mfkit {
namespace {

TEST(SgdBlock, PlainUpdateMatchesHandComputation) {
  auto m = test::make_matrix({{"u", "i", 4.0f}});
  Factors f;
  f.init(m, 2, 0.0, 1, false);
  f.P = {1.0f, 2.0f};
  f.Q = {0.5f, -1.0f};
  f.mu = 3.0f;
  SgdState s;
  s.init(f);
  SgdConfig c;
  c.lr = 0.1f;
  c.reg = 0.2f;
  c.reg_bias = 0.0f;
  c.adaptive = false;
  Rating r{0, 0, 4.0f};
  double sse = sgd_block(&r, &r + 1, s, c);
  // prediction 3 + 0.5 - 2 = 1.5, error 2.5
  EXPECT_NEAR(sse, 6.25, 1e-6);
  s.export_to(f);
  EXPECT_NEAR(f.P[0], 1.0f + 0.1f * (2.5f * 0.5f - 0.2f * 1.0f), 1e-6);
  EXPECT_NEAR(f.P[1], 2.0f + 0.1f * (2.5f * -1.0f - 0.2f * 2.0f), 1e-6);
  EXPECT_NEAR(f.Q[0], 0.5f + 0.1f * (2.5f * 1.0f - 0.2f * 0.5f), 1e-6);
  EXPECT_NEAR(f.bu[0], 0.25f, 1e-6);
  EXPECT_NEAR(f.bi[0], 0.25f, 1e-6);
}

TEST(SgdBlock, AdaptiveRateShrinksAsGradientsAccumulate) {
  auto m = test::make_matrix({{"u", "i", 5.0f}});
  Factors f;
  f.init(m, 4, 0.1, 1, false);
  f.mu = 0;
  SgdState s;
  s.init(f);
  SgdConfig c;
  c.lr = 0.05f;
  Rating r{0, 0, 5.0f};
  double first = sgd_block(&r, &r + 1, s, c);
  EXPECT_GT(s.users[4 + 1], 1.0f);  // the accumulator grew
  double later = 0;
  for (int n = 0; n < 200; ++n) later = sgd_block(&r, &r + 1, s, c);
  EXPECT_LT(later, first);
}

TEST(FpsgGrid, EveryEntryLandsInExactlyOneBlockSortedByUser) {
  auto m = synthetic_ratings();
  FpsgGrid g = FpsgGrid::build(m, 7, 3);
  EXPECT_EQ(static_cast<int64_t>(g.entries.size()), m.nnz());
  EXPECT_EQ(g.block_start.back(), m.nnz());
  double sum = 0;
  for (const auto& e : g.entries) sum += e.r * (e.u + 1) + e.i;
  Coo c = m.to_coo();
  double want = 0;
  for (size_t e = 0; e < c.size(); ++e) want += c.values[e] * (c.users[e] + 1) + c.items[e];
  EXPECT_DOUBLE_EQ(sum, want);
  // Within a block users ascend; across blocks of one row band users never appear in another band.
  std::vector<int> band_of_user(m.n_users(), -1);
  for (int b = 0; b < 49; ++b)
    for (int64_t e = g.block_start[b]; e < g.block_start[b + 1]; ++e) {
      if (e > g.block_start[b]) EXPECT_LE(g.entries[e - 1].u, g.entries[e].u);
      int& band = band_of_user[g.entries[e].u];
      if (band < 0) band = b / 7;
      EXPECT_EQ(band, b / 7);
    }
}

TEST(SgdEpoch, TwoThreadsConvergeLikeOne) {
  auto m = synthetic_ratings();
  double losses[2];
  for (int t = 1; t <= 2; ++t) {
    Factors f;
    f.init(m, 8, 0.05, 1, false);
    SgdState s;
    s.init(f);
    FpsgGrid g = FpsgGrid::build(m, 9, 2);
    SgdConfig c;
    c.lr = 0.05f;
    double sse = 0;
    for (int ep = 0; ep < 10; ++ep) sse = run_sgd_epoch(g, s, c, t, ep);
    losses[t - 1] = std::sqrt(sse / m.nnz());
  }
  EXPECT_LT(losses[0], 0.9);
  EXPECT_NEAR(losses[0], losses[1], 0.01);
}

}  // namespace
}  // namespace mfkit
