#include "mfkit/evaluate.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "mfkit/error.h"
#include "mfkit/metrics.h"
#include "mfkit/recommend.h"

namespace mfkit {

nlohmann::json evaluate_rating(const Model& model, const Interactions& test) {
  if (test.nnz() == 0) throw Error("evaluate: the test part is empty (check --split)");
  Coo c = test.to_coo();
  std::vector<float> pred(c.size());
  model.predict(c.users.data(), c.items.data(), c.size(), pred.data());
  for (size_t e = 0; e < pred.size(); ++e)
    if (!std::isfinite(pred[e])) throw DivergedError(model.type() + ": a prediction is not finite");
  return {{"rmse", rmse(pred, c.values)}, {"mae", mae(pred, c.values)}, {"n", c.size()}};
}

namespace {

// One user's ranking figures from a row of scores with the training items at -inf.
struct UserRanking {
  double p = 0, r = 0, nd = 0, ap = 0, hr = 0, auc = 0, weighted_rank = 0, weight = 0;
  bool has_auc = false;
};

// Top-k metrics from a partial selection, and AUC and percentile ranks by counting: the held-out
// items' scores are sorted once, and each candidate is placed among them by binary search, so
// the cost is O(items x log(held-out)) instead of sorting every candidate.
UserRanking rank_user(const float* s, int32_t ni, const int32_t* rel_begin, const int32_t* rel_end,
                      const float* w_begin, int k, const int32_t* tie) {
  const float ninf = -std::numeric_limits<float>::infinity();
  UserRanking out;
  std::vector<int32_t> rel(rel_begin, rel_end), ranked;
  for (const Scored& sc : top_k(s, ni, k, tie)) ranked.push_back(sc.index);
  out.p = precision_at_k(ranked, rel, k);
  out.r = recall_at_k(ranked, rel, k);
  out.nd = ndcg_at_k(ranked, rel, k);
  out.ap = average_precision_at_k(ranked, rel, k);
  out.hr = hit_rate_at_k(ranked, rel, k);
  // Held-out items that are candidates (not in the user's training data), with their weights.
  std::vector<std::pair<float, float>> pos;  // (score, weight)
  for (size_t j = 0; j < rel.size(); ++j)
    if (s[rel[j]] != ninf && !std::isnan(s[rel[j]])) pos.emplace_back(s[rel[j]], w_begin[j] > 0 ? w_begin[j] : 1.0f);
  if (pos.empty()) return out;
  std::vector<float> d;  // distinct held-out scores, ascending
  for (auto& [score, w] : pos) d.push_back(score);
  std::sort(d.begin(), d.end());
  d.erase(std::unique(d.begin(), d.end()), d.end());
  const size_t m = d.size();
  // above[j]: candidates greater than d[0..j-1] only; equal[j]: candidates equal to d[j].
  std::vector<int64_t> above(m + 1, 0), equal(m, 0);
  int64_t n = 0;
  for (int32_t i = 0; i < ni; ++i) {
    float x = s[i];
    if (x == ninf || std::isnan(x)) continue;
    ++n;
    size_t j = m == 1 ? (x > d[0] ? 1 : 0) : std::lower_bound(d.begin(), d.end(), x) - d.begin();
    if (j < m && d[j] == x)
      equal[j]++;
    else
      above[j]++;
  }
  // better[j] = candidates strictly above d[j] = sum of above[j+1..m] and equal[j+1..m-1].
  std::vector<int64_t> better(m, 0), pos_below(m, 0), pos_equal(m, 0);
  for (size_t j = m; j-- > 0;) better[j] = above[j + 1] + (j + 1 < m ? better[j + 1] + equal[j + 1] : 0);
  for (auto& [score, w] : pos) pos_equal[std::lower_bound(d.begin(), d.end(), score) - d.begin()]++;
  for (size_t j = 1; j < m; ++j) pos_below[j] = pos_below[j - 1] + pos_equal[j - 1];
  const int64_t n_pos = static_cast<int64_t>(pos.size()), n_neg = n - n_pos;
  double wins = 0;
  for (auto& [score, w] : pos) {
    size_t j = std::lower_bound(d.begin(), d.end(), score) - d.begin();
    int64_t below = n - better[j] - equal[j];
    wins += static_cast<double>(below - pos_below[j]) + 0.5 * static_cast<double>(equal[j] - pos_equal[j]);
    if (n >= 2) {
      double rank =
          (static_cast<double>(better[j]) + 0.5 * static_cast<double>(equal[j] - 1)) / static_cast<double>(n - 1);
      out.weighted_rank += w * rank;
      out.weight += w;
    }
  }
  if (n_neg > 0) {
    out.auc = wins / (static_cast<double>(n_pos) * static_cast<double>(n_neg));
    out.has_auc = true;
  }
  return out;
}

}  // namespace

nlohmann::json evaluate_ranking(const Model& model, const Interactions& train, const Interactions& test, int k,
                                const Context& ctx) {
  if (k < 1) throw ParamError("evaluate: k must be at least 1");
  const int32_t ni = model.n_items();
  std::vector<int32_t> users;
  for (int32_t u = 0; u < test.n_users(); ++u)
    if (test.by_user().row_size(u) > 0) users.push_back(u);
  if (users.empty()) throw Error("evaluate: the test part is empty (no user has held-out items; check --split)");
  double p = 0, r = 0, nd = 0, ap = 0, hr = 0, au = 0, wr = 0, w = 0, user_rank = 0;
  int64_t auc_users = 0;
  const float ninf = -std::numeric_limits<float>::infinity();
  // Users are scored in blocks (one GEMM each for factor models), at most ~64 MB of scores.
  const int64_t block = std::clamp<int64_t>((int64_t(1) << 24) / std::max<int32_t>(ni, 1), 1, 256);
  const int64_t n_blocks = (static_cast<int64_t>(users.size()) + block - 1) / block;
  const Csr& tr = train.by_user();
  const Csr& te = test.by_user();
  // Ties in the top k as recommend() breaks them (the model's tie order).
  const int32_t* tie = model.tie_rank();
#pragma omp parallel for schedule(dynamic, 1) num_threads(ctx.threads) reduction(+ : p, r, nd, ap, hr, au, wr, w, user_rank, auc_users)
  for (int64_t b = 0; b < n_blocks; ++b) {
    const int64_t begin = b * block, end = std::min<int64_t>(begin + block, users.size());
    std::vector<float> scores(static_cast<size_t>(end - begin) * ni);
    model.score(users.data() + begin, end - begin, scores.data());
    for (int64_t x = begin; x < end; ++x) {
      const int32_t u = users[x];
      float* s = scores.data() + (x - begin) * ni;
      for (int64_t e = tr.indptr[u]; e < tr.indptr[u + 1]; ++e) s[tr.indices[e]] = ninf;
      UserRanking one = rank_user(s, ni, te.indices.data() + te.indptr[u], te.indices.data() + te.indptr[u + 1],
                                  te.values.data() + te.indptr[u], k, tie);
      p += one.p;
      r += one.r;
      nd += one.nd;
      ap += one.ap;
      hr += one.hr;
      if (one.has_auc) au += one.auc, auc_users++;
      wr += one.weighted_rank;
      w += one.weight;
      if (one.weight > 0) user_rank += one.weighted_rank / one.weight;
    }
  }
  double n = users.empty() ? 1.0 : static_cast<double>(users.size());
  nlohmann::json j;
  j["k"] = k;
  j["users"] = users.size();
  j["precision"] = p / n;
  j["recall"] = r / n;
  j["ndcg"] = nd / n;
  j["map"] = ap / n;
  j["hit_rate"] = hr / n;
  j["auc"] = auc_users ? au / auc_users : 0.0;
  j["expected_percentile_rank"] = w > 0 ? wr / w : 0.0;  // pooled over users (Hu-Koren-Volinsky)
  j["mean_user_percentile_rank"] = user_rank / n;        // mean of per-user ranks (dotify)
  return j;
}

nlohmann::json evaluate_leave_one_out(const Model& model, const Split& split, int k, const Context& ctx) {
  if (split.negatives.empty()) throw Error("evaluate: leave-one-out needs a split made with loo");
  const Csr& te = split.test.by_user();
  double hr = 0, nd = 0, au = 0;
  int64_t n = 0;
#pragma omp parallel for schedule(dynamic, 32) num_threads(ctx.threads) reduction(+ : hr, nd, au, n)
  for (int32_t u = 0; u < split.test.n_users(); ++u) {
    if (te.row_size(u) == 0) continue;
    int32_t target = te.indices[te.indptr[u]];
    const auto& neg = split.negatives[u];
    std::vector<int32_t> us(neg.size() + 1, u), items(neg.begin(), neg.end());
    items.push_back(target);
    std::vector<float> s(items.size());
    model.predict(us.data(), items.data(), items.size(), s.data());
    float t = s.back();
    // Rank of the target among the negatives; ties count against it (pessimistic).
    // AUC against the sampled negatives counts ties as half.
    int64_t rank = 0, below = 0, ties = 0;
    for (size_t j = 0; j + 1 < s.size(); ++j) {
      rank += s[j] >= t;
      below += s[j] < t;
      ties += s[j] == t;
    }
    if (!neg.empty()) au += (below + 0.5 * ties) / neg.size();
    if (rank < k) {
      hr += 1;
      nd += 1.0 / std::log2(rank + 2.0);
    }
    n++;
  }
  double d = n ? static_cast<double>(n) : 1.0;
  return {{"k", k}, {"users", n}, {"hit_rate", hr / d}, {"ndcg", nd / d}, {"auc", au / d}};
}

}  // namespace mfkit

namespace mfkit {

Interactions to_ids(const Interactions& m, std::shared_ptr<const IdMap> users, std::shared_ptr<const IdMap> items,
                    int64_t* dropped) {
  Coo src = m.to_coo(), dst;
  std::vector<int32_t> umap(m.n_users()), imap(m.n_items());
  for (int32_t u = 0; u < m.n_users(); ++u) umap[u] = users->find(m.user_ids()->name(u));
  for (int32_t i = 0; i < m.n_items(); ++i) imap[i] = items->find(m.item_ids()->name(i));
  int64_t lost = 0;
  for (size_t e = 0; e < src.size(); ++e) {
    int32_t u = umap[src.users[e]], i = imap[src.items[e]];
    if (u < 0 || i < 0) {
      ++lost;
      continue;
    }
    dst.users.push_back(u);
    dst.items.push_back(i);
    dst.values.push_back(src.values[e]);
    if (!src.times.empty()) dst.times.push_back(src.times[e]);
  }
  if (dropped) *dropped = lost;
  return Interactions::from_coo(dst, std::move(users), std::move(items));
}

Interactions to_model_ids(const Interactions& m, const Model& model, int64_t* dropped) {
  return to_ids(m, model.user_ids(), model.item_ids(), dropped);
}

}  // namespace mfkit
