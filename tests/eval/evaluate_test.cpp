// The leave-one-out protocol's metrics against values computed by hand.
#include "mfkit/evaluate.h"

#include <gtest/gtest.h>

#include <cmath>

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
  EXPECT_DOUBLE_EQ(r["hit_rate"], 0.0);              // ranks 2 and 4: no hit at k = 1
  EXPECT_NEAR(r["auc"].get<double>(), (2.0 / 3 + 0.0) / 2, 1e-12);
  auto r2 = evaluate_leave_one_out(*m, s, 2, Context{1, 1});
  EXPECT_DOUBLE_EQ(r2["hit_rate"], 0.5);
  EXPECT_NEAR(r2["ndcg"].get<double>(), 0.5 / std::log2(3.0), 1e-12);
}

}  // namespace
}  // namespace mfkit
