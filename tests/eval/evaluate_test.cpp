// The leave-one-out protocol's metrics against values computed by hand.
#include "mfkit/evaluate.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "mfkit/data.h"
#include "mfkit/metrics.h"
#include "mfkit/recommend.h"
#include "mfkit/registry.h"
#include "mfkit/split.h"
#include "test_util.h"

namespace mfkit {
namespace {

TEST(LeaveOneOut, HitRateNdcgAndAucFromTheTargetsRank) {
  // Popularity scores: a 4 users, b 3, c 2, d 1, e 0 (never in training).
  std::vector<std::tuple<std::string, std::string, float>> t;
  const char* users[] = {"u1", "u2", "u3", "u4"};
  for (int k = 0; k < 4; ++k) {
    t.push_back({users[k], "a", 1});
    if (k < 3) t.push_back({users[k], "b", 1});
    if (k < 2) t.push_back({users[k], "c", 1});
    if (k < 1) t.push_back({users[k], "d", 1});
  }
  t.push_back({"u5", "e", 1});  // e's only entry is u5's, held out below
  Interactions all = test::make_matrix(t);
  auto id = [&](const char* n) { return all.item_ids()->at(n, "item"); };
  Split s;
  s.train = all.subset({0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
  Coo held;
  held.users = {all.user_ids()->at("u4", "user"), all.user_ids()->at("u5", "user")};
  held.items = {id("c"), id("e")};
  held.values = {1, 1};
  s.test = Interactions::from_coo(held, all.user_ids(), all.item_ids());
  s.negatives.resize(all.n_users());
  s.negatives[held.users[0]] = {id("d"), id("e"), id("b")};  // c (0.4) beats d, e; below b
  s.negatives[held.users[1]] = {id("b"), id("c"), id("d")};  // e (0) is last
  auto m = create_model("popularity");
  m->fit(s.train);
  auto r = evaluate_leave_one_out(*m, s, 1, Context{1, 1});
  EXPECT_EQ(r["users"], 2);
  EXPECT_DOUBLE_EQ(r["hit_rate"], 0.0);  // ranks 2 and 4: no hit at k = 1
  EXPECT_NEAR(r["auc"].get<double>(), (2.0 / 3 + 0.0) / 2, 1e-12);
  auto r2 = evaluate_leave_one_out(*m, s, 2, Context{1, 1});
  EXPECT_DOUBLE_EQ(r2["hit_rate"], 0.5);
  EXPECT_NEAR(r2["ndcg"].get<double>(), 0.5 / std::log2(3.0), 1e-12);
}

// The per-user reference: every candidate sorted, through the metric functions of metrics.h.
nlohmann::json reference_ranking(const Model& model, const Interactions& train, const Interactions& test, int k) {
  const int32_t ni = model.n_items();
  const float ninf = -std::numeric_limits<float>::infinity();
  double p = 0, nd = 0, hr = 0, au = 0, wr = 0, w = 0;
  int64_t n = 0, auc_users = 0;
  for (int32_t u = 0; u < test.n_users(); ++u) {
    const Csr& te = test.by_user();
    if (te.row_size(u) == 0) continue;
    ++n;
    std::vector<float> s(ni);
    model.score(&u, 1, s.data());
    for (int64_t e = train.by_user().indptr[u]; e < train.by_user().indptr[u + 1]; ++e)
      s[train.by_user().indices[e]] = ninf;
    std::vector<int32_t> rel(te.indices.begin() + te.indptr[u], te.indices.begin() + te.indptr[u + 1]), ranked;
    for (const Scored& sc : top_k(s.data(), ni, k)) ranked.push_back(sc.index);
    p += precision_at_k(ranked, rel, k);
    nd += ndcg_at_k(ranked, rel, k);
    hr += hit_rate_at_k(ranked, rel, k);
    std::vector<float> cand, pos, neg, wc;
    std::vector<int32_t> cand_index(ni, -1), rel_c;
    for (int32_t i = 0; i < ni; ++i)
      if (s[i] != ninf) cand_index[i] = static_cast<int32_t>(cand.size()), cand.push_back(s[i]);
    std::vector<char> is_rel(ni, 0);
    for (size_t j = 0; j < rel.size(); ++j)
      if (cand_index[rel[j]] >= 0)
        rel_c.push_back(cand_index[rel[j]]), wc.push_back(te.values[te.indptr[u] + j]), is_rel[rel[j]] = 1;
    for (int32_t i = 0; i < ni; ++i)
      if (s[i] != ninf) (is_rel[i] ? pos : neg).push_back(s[i]);
    if (!pos.empty() && !neg.empty()) au += auc(pos, neg), auc_users++;
    RankSum rs = percentile_rank_sum(cand, rel_c, wc);
    wr += rs.weighted_rank;
    w += rs.weight;
  }
  return {{"precision", p / n},
          {"ndcg", nd / n},
          {"hit_rate", hr / n},
          {"auc", au / auc_users},
          {"expected_percentile_rank", wr / w}};
}

TEST(Ranking, BlockedCountingMatchesSortingEveryCandidate) {
  // Popularity scores tie a lot; implicit ALS's hardly ever: both must agree with the reference.
  Interactions all = synthetic_ratings();
  Split s = make_split(all, "user:0.3", 3);
  for (const char* name : {"popularity", "implicit-als"}) {
    auto m = create_model(name);
    m->fit(s.train);
    for (int threads : {1, 2}) {
      auto got = evaluate_ranking(*m, s.train, s.test, 10, Context{threads, 1});
      auto want = reference_ranking(*m, s.train, s.test, 10);
      for (const char* key : {"precision", "ndcg", "hit_rate", "auc", "expected_percentile_rank"})
        EXPECT_NEAR(got[key].get<double>(), want[key].get<double>(), 1e-9) << name << " " << key;
    }
  }
}

}  // namespace
}  // namespace mfkit
