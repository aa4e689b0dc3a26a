#include <gtest/gtest.h>

#include <random>

#include "mfkit/evaluate.h"
#include "mfkit/registry.h"
#include "mfkit/split.h"
#include "models/bpr/bpr_step.h"
#include "test_util.h"

namespace mfkit {
namespace {

// Two taste groups over 60 items: users of group g interact with items of group g only.
Interactions groups(int users, unsigned seed) {
  std::mt19937 rng(seed);
  std::vector<std::tuple<std::string, std::string, float>> t;
  for (int u = 0; u < users; ++u)
    for (int i = 0; i < 60; ++i)
      if (i % 2 == u % 2 && rng() % 3 == 0) t.push_back({"u" + std::to_string(u), "i" + std::to_string(i), 1.0f});
  return test::make_matrix(t);
}

double auc_of(const std::string& loss, int threads, int epochs) {
  auto data = groups(200, 1);
  Split s = random_split(data, 0.8, 1);
  auto m = create_model("bpr", "", {{"factors", 8}, {"epochs", epochs}, {"loss", loss}, {"learning_rate", 0.05}});
  m->fit(s.train, {Context{threads, 3}, nullptr, nullptr});
  return evaluate_ranking(*m, s.train, s.test, 10, Context{2, 1})["auc"];
}

TEST(Bpr, BothLossesLearnTheGroupsOnOneAndTwoThreads) {
  const double untrained = auc_of("bpr", 1, 1);
  // A held-out item beats the 30 items of the other group and ties (at best) with the unseen
  // ones of its own: a model that knows only the groups reaches 30/50 + 0.5 * 20/50 = 0.8.
  for (const char* loss : {"bpr", "warp"})
    for (int threads : {1, 2}) {
      double a = auc_of(loss, threads, 30);
      EXPECT_GT(a, 0.75) << loss << " on " << threads << " threads";
      EXPECT_GT(a, untrained + 0.05) << loss;
    }
}

TEST(Bpr, StopsEarlyOnValidationAucAndKeepsTheBestEpoch) {
  auto data = groups(200, 2);
  auto [train, valid] = carve_validation(data, 0.2, 1);
  // Once the groups are learned, validation AUC stalls: patience must stop there.
  auto m = create_model("bpr", "", {{"factors", 8}, {"epochs", 200}, {"patience", 3}});
  std::vector<double> aucs;
  FitOptions o{Context{1, 1}, &valid, [&](const EpochInfo& e) {
                 EXPECT_TRUE(e.valid_auc.has_value());
                 EXPECT_FALSE(e.valid_rmse.has_value());
                 aucs.push_back(*e.valid_auc);
                 return true;
               }};
  m->fit(train, o);
  ASSERT_LT(aucs.size(), 200u) << "never stopped";
  size_t best = std::max_element(aucs.begin(), aucs.end()) - aucs.begin();
  EXPECT_EQ(aucs.size(), best + 1 + 3);  // stopped three epochs past the best
  EXPECT_GT(aucs[best], 0.75) << ::testing::PrintToString(aucs);
}

TEST(Bpr, FoldInRanksANewUsersGroupFirst) {
  auto data = groups(200, 3);
  auto m = create_model("bpr", "", {{"factors", 8}, {"epochs", 30}});
  m->fit(data, {Context{1, 1}, nullptr, nullptr});
  // A new user of the odd group: i1, i3, i5.
  std::vector<int32_t> items;
  for (const char* n : {"i1", "i3", "i5"}) items.push_back(m->item_ids()->at(n, "item"));
  std::vector<float> s(m->n_items()), again(m->n_items());
  m->score_new_user(items, {1, 1, 1}, s.data());
  m->score_new_user(items, {1, 1, 1}, again.data());
  EXPECT_EQ(s, again);  // the same interactions fold in to the same vector
  double odd = 0, even = 0;
  for (int32_t i = 0; i < m->n_items(); ++i) (std::stoi(m->item_ids()->name(i).substr(1)) % 2 ? odd : even) += s[i];
  EXPECT_GT(odd / 30, even / 30 + 0.5);
}

TEST(NegativeSampler, VerifiedDrawsAvoidTheUsersItemsAndPopularityFollowsCounts) {
  auto data = groups(100, 4);
  const Csr& c = data.by_user();
  BprConfig cfg;
  cfg.verify = true;
  std::mt19937_64 rng(1);
  for (bool pop : {false, true}) {
    cfg.popularity = pop;
    NegativeSampler neg(c, data.n_items(), cfg);
    int seen = 0;
    for (int k = 0; k < 2000; ++k) {
      int32_t j = neg.draw(rng, c.indices.data() + c.indptr[0], c.row_size(0));
      seen += std::binary_search(c.indices.begin() + c.indptr[0], c.indices.begin() + c.indptr[1], j);
    }
    EXPECT_LT(seen, 5) << pop;  // 10 redraws: a seen item survives with probability (1/6)^10
  }
  // Unverified popularity draws land on items in proportion to their counts.
  cfg.verify = false;
  NegativeSampler neg(c, data.n_items(), cfg);
  std::vector<int> hits(data.n_items());
  for (int k = 0; k < 200000; ++k) ++hits[neg.draw(rng, nullptr, 0)];
  const Csr& ci = data.by_item();
  for (int32_t i = 0; i < data.n_items(); ++i)
    EXPECT_NEAR(hits[i] / 200000.0, ci.row_size(i) / double(data.nnz()), 0.004) << i;
}

}  // namespace
}  // namespace mfkit
