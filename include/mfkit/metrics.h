// mfkit/metrics.h - accuracy and ranking metrics.
//
// Ranking metrics take one user's ranked list (best first) and the set of relevant items
// (sorted ascending); they use binary relevance and are averaged over users by the caller
// (see evaluate.h). Conventions: NDCG's ideal DCG counts min(k, |relevant|) hits; MAP@k divides
// by min(k, |relevant|); AUC counts ties as half.
#pragma once

#include <cstdint>
#include <vector>

namespace mfkit {

double rmse(const std::vector<float>& predicted, const std::vector<float>& actual);
double mae(const std::vector<float>& predicted, const std::vector<float>& actual);

double precision_at_k(const std::vector<int32_t>& ranked, const std::vector<int32_t>& relevant, int k);
double recall_at_k(const std::vector<int32_t>& ranked, const std::vector<int32_t>& relevant, int k);
double ndcg_at_k(const std::vector<int32_t>& ranked, const std::vector<int32_t>& relevant, int k);
double average_precision_at_k(const std::vector<int32_t>& ranked, const std::vector<int32_t>& relevant, int k);
double hit_rate_at_k(const std::vector<int32_t>& ranked, const std::vector<int32_t>& relevant, int k);

/// Probability that a random positive scores above a random negative (ties count half).
double auc(const std::vector<float>& positive_scores, const std::vector<float>& negative_scores);

/// Hu-Koren-Volinsky expected percentile rank of one user's held-out items:
/// sum_i r_i * rank_i / sum_i r_i, where rank_i is item i's percentile (0 = top, 1 = bottom)
/// among `scores` (all candidate items). Returns the numerator and denominator so callers can
/// pool over users as the paper does.
struct RankSum {
  double weighted_rank = 0;
  double weight = 0;
};
RankSum percentile_rank_sum(const std::vector<float>& scores, const std::vector<int32_t>& items,
                            const std::vector<float>& weights);

}  // namespace mfkit
