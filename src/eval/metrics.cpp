#include "mfkit/metrics.h"

#include <algorithm>
#include <cmath>

#include "mfkit/error.h"

namespace mfkit {

namespace {

void check_same(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size()) throw Error("metric: predicted and actual differ in length");
}
bool relevant_has(const std::vector<int32_t>& rel, int32_t i) { return std::binary_search(rel.begin(), rel.end(), i); }
int cut(const std::vector<int32_t>& ranked, int k) {
  if (k <= 0) throw ParamError("k must be at least 1");
  return std::min<int>(k, static_cast<int>(ranked.size()));
}

}  // namespace

double rmse(const std::vector<float>& p, const std::vector<float>& a) {
  check_same(p, a);
  if (p.empty()) return 0;
  double s = 0;
  for (size_t i = 0; i < p.size(); ++i) s += (double(p[i]) - a[i]) * (double(p[i]) - a[i]);
  return std::sqrt(s / p.size());
}

double mae(const std::vector<float>& p, const std::vector<float>& a) {
  check_same(p, a);
  if (p.empty()) return 0;
  double s = 0;
  for (size_t i = 0; i < p.size(); ++i) s += std::fabs(double(p[i]) - a[i]);
  return s / p.size();
}

double precision_at_k(const std::vector<int32_t>& ranked, const std::vector<int32_t>& rel, int k) {
  int n = cut(ranked, k), hits = 0;
  for (int r = 0; r < n; ++r) hits += relevant_has(rel, ranked[r]);
  return static_cast<double>(hits) / k;
}

double recall_at_k(const std::vector<int32_t>& ranked, const std::vector<int32_t>& rel, int k) {
  if (rel.empty()) return 0;
  int n = cut(ranked, k), hits = 0;
  for (int r = 0; r < n; ++r) hits += relevant_has(rel, ranked[r]);
  return static_cast<double>(hits) / rel.size();
}

double ndcg_at_k(const std::vector<int32_t>& ranked, const std::vector<int32_t>& rel, int k) {
  if (rel.empty()) return 0;
  int n = cut(ranked, k);
  double dcg = 0, idcg = 0;
  for (int r = 0; r < n; ++r)
    if (relevant_has(rel, ranked[r])) dcg += 1.0 / std::log2(r + 2.0);
  int ideal = std::min<int>(k, static_cast<int>(rel.size()));
  for (int r = 0; r < ideal; ++r) idcg += 1.0 / std::log2(r + 2.0);
  return dcg / idcg;
}

double average_precision_at_k(const std::vector<int32_t>& ranked, const std::vector<int32_t>& rel, int k) {
  if (rel.empty()) return 0;
  int n = cut(ranked, k), hits = 0;
  double sum = 0;
  for (int r = 0; r < n; ++r) {
    if (relevant_has(rel, ranked[r])) {
      ++hits;
      sum += static_cast<double>(hits) / (r + 1);
    }
  }
  return sum / std::min<int>(k, static_cast<int>(rel.size()));
}

double hit_rate_at_k(const std::vector<int32_t>& ranked, const std::vector<int32_t>& rel, int k) {
  int n = cut(ranked, k);
  for (int r = 0; r < n; ++r)
    if (relevant_has(rel, ranked[r])) return 1;
  return 0;
}

double auc(const std::vector<float>& pos, const std::vector<float>& neg) {
  if (pos.empty() || neg.empty()) throw Error("auc: needs at least one positive and one negative");
  std::vector<float> n = neg;
  std::sort(n.begin(), n.end());
  double wins = 0;
  for (float p : pos) {
    auto lo = std::lower_bound(n.begin(), n.end(), p);
    auto hi = std::upper_bound(n.begin(), n.end(), p);
    wins += (lo - n.begin()) + 0.5 * (hi - lo);
  }
  return wins / (static_cast<double>(pos.size()) * n.size());
}

RankSum percentile_rank_sum(const std::vector<float>& scores, const std::vector<int32_t>& items,
                            const std::vector<float>& weights) {
  if (items.size() != weights.size()) throw Error("percentile rank: items and weights differ in length");
  RankSum out;
  const size_t n = scores.size();
  if (n < 2) return out;
  std::vector<float> sorted = scores;
  std::sort(sorted.begin(), sorted.end());
  for (size_t k = 0; k < items.size(); ++k) {
    float s = scores.at(items[k]);
    // Items strictly better than this one, plus half the ties (excluding itself).
    auto lo = std::lower_bound(sorted.begin(), sorted.end(), s);
    auto hi = std::upper_bound(sorted.begin(), sorted.end(), s);
    double better = static_cast<double>(sorted.end() - hi);
    double ties = static_cast<double>(hi - lo) - 1;
    double rank = (better + 0.5 * ties) / (n - 1);
    out.weighted_rank += weights[k] * rank;
    out.weight += weights[k];
  }
  return out;
}

}  // namespace mfkit
