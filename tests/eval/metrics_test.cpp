// Every metric against values computed by hand.
#include "mfkit/metrics.h"

#include <gtest/gtest.h>

#include <cmath>

namespace mfkit {
namespace {

TEST(Metrics, RmseAndMae) {
  std::vector<float> p = {1, 2, 3}, a = {2, 2, 5};
  EXPECT_NEAR(rmse(p, a), std::sqrt((1 + 0 + 4) / 3.0), 1e-12);
  EXPECT_NEAR(mae(p, a), 1.0, 1e-12);
}

TEST(Metrics, RankingAtK) {
  // Ranked 5 items; relevant {3, 7, 9}; hits at ranks 1 and 3 (items 3 and 9).
  std::vector<int32_t> ranked = {3, 4, 9, 1, 2}, rel = {3, 7, 9};
  EXPECT_NEAR(precision_at_k(ranked, rel, 5), 2.0 / 5, 1e-12);
  EXPECT_NEAR(recall_at_k(ranked, rel, 5), 2.0 / 3, 1e-12);
  EXPECT_NEAR(hit_rate_at_k(ranked, rel, 2), 1.0, 1e-12);
  EXPECT_NEAR(hit_rate_at_k({4, 1}, rel, 2), 0.0, 1e-12);
  double dcg = 1.0 + 1.0 / std::log2(4.0);
  double idcg = 1.0 + 1.0 / std::log2(3.0) + 1.0 / std::log2(4.0);
  EXPECT_NEAR(ndcg_at_k(ranked, rel, 5), dcg / idcg, 1e-12);
  EXPECT_NEAR(average_precision_at_k(ranked, rel, 5), (1.0 + 2.0 / 3) / 3, 1e-12);
  // At k=2 the ideal has 2 hits; we have 1 at rank 1.
  EXPECT_NEAR(ndcg_at_k(ranked, rel, 2), 1.0 / (1.0 + 1.0 / std::log2(3.0)), 1e-12);
  EXPECT_NEAR(average_precision_at_k(ranked, rel, 2), 1.0 / 2, 1e-12);
}

TEST(Metrics, AucCountsTiesAsHalf) {
  EXPECT_NEAR(auc({0.9f, 0.4f}, {0.5f, 0.1f, 0.4f}), (3 + 1.5) / 6.0, 1e-12);
  EXPECT_NEAR(auc({1}, {0}), 1.0, 1e-12);
}

TEST(Metrics, ExpectedPercentileRank) {
  // 5 candidates; item 2 is the best (rank 0), item 4 the worst (rank 1).
  std::vector<float> scores = {0.3f, 0.2f, 0.9f, 0.5f, 0.1f};
  RankSum a = percentile_rank_sum(scores, {2}, {1});
  EXPECT_NEAR(a.weighted_rank / a.weight, 0.0, 1e-12);
  RankSum b = percentile_rank_sum(scores, {4, 3}, {1, 3});
  // item 4 rank 1.0 (weight 1), item 3 rank 1/4 (weight 3).
  EXPECT_NEAR(b.weighted_rank / b.weight, (1.0 + 3 * 0.25) / 4, 1e-12);
}

}  // namespace
}  // namespace mfkit
