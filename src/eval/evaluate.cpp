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

nlohmann::json evaluate_ranking(const Model& model, const Interactions& train, const Interactions& test,
                                int k, const Context& ctx) {
  if (k < 1) throw ParamError("evaluate: k must be at least 1");
  const int32_t ni = model.n_items();
  std::vector<int32_t> users;
  for (int32_t u = 0; u < test.n_users(); ++u)
    if (test.by_user().row_size(u) > 0) users.push_back(u);
  if (users.empty()) throw Error("evaluate: the test part is empty (no user has held-out items; check --split)");
  double p = 0, r = 0, nd = 0, ap = 0, hr = 0, au = 0, wr = 0, w = 0, user_rank = 0;
  int64_t auc_users = 0;
  const float ninf = -std::numeric_limits<float>::infinity();
#pragma omp parallel for schedule(dynamic, 16) num_threads(ctx.threads) reduction(+ : p, r, nd, ap, hr, au, wr, w, user_rank, auc_users)
  for (size_t x = 0; x < users.size(); ++x) {
    int32_t u = users[x];
    std::vector<float> s(ni);
    model.score(&u, 1, s.data());
    const Csr& tr = train.by_user();
    for (int64_t e = tr.indptr[u]; e < tr.indptr[u + 1]; ++e) s[tr.indices[e]] = ninf;
    const Csr& te = test.by_user();
    std::vector<int32_t> rel(te.indices.begin() + te.indptr[u], te.indices.begin() + te.indptr[u + 1]);
    std::vector<float> weights(te.values.begin() + te.indptr[u], te.values.begin() + te.indptr[u + 1]);
    std::vector<int32_t> ranked;
    for (const Scored& sc : top_k(s.data(), ni, k)) ranked.push_back(sc.index);
    p += precision_at_k(ranked, rel, k);
    r += recall_at_k(ranked, rel, k);
    nd += ndcg_at_k(ranked, rel, k);
    ap += average_precision_at_k(ranked, rel, k);
    hr += hit_rate_at_k(ranked, rel, k);
    // AUC and percentile rank over the items not in the user's training data.
    std::vector<float> candidates, pos, neg;
    std::vector<int32_t> cand_index(ni, -1);
    for (int32_t i = 0; i < ni; ++i)
      if (s[i] != ninf) {
        cand_index[i] = static_cast<int32_t>(candidates.size());
        candidates.push_back(s[i]);
      }
    std::vector<int32_t> rel_c;
    std::vector<float> w_c;
    std::vector<char> is_rel(ni, 0);
    for (size_t j = 0; j < rel.size(); ++j)
      if (cand_index[rel[j]] >= 0) {
        rel_c.push_back(cand_index[rel[j]]);
        w_c.push_back(weights[j] > 0 ? weights[j] : 1.0f);
        is_rel[rel[j]] = 1;
      }
    for (int32_t i = 0; i < ni; ++i)
      if (s[i] != ninf) (is_rel[i] ? pos : neg).push_back(s[i]);
    if (!pos.empty() && !neg.empty()) {
      au += auc(pos, neg);
      auc_users++;
    }
    RankSum rs = percentile_rank_sum(candidates, rel_c, w_c);
    wr += rs.weighted_rank;
    w += rs.weight;
    if (rs.weight > 0) user_rank += rs.weighted_rank / rs.weight;
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
  j["expected_percentile_rank"] = w > 0 ? wr / w : 0.0;   // pooled over users (Hu-Koren-Volinsky)
  j["mean_user_percentile_rank"] = user_rank / n;          // mean of per-user ranks (dotify)
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
