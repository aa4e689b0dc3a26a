#include "mfkit/recommend.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

#include "mfkit/error.h"
#include "mfkit/registry.h"
#include "test_util.h"

namespace mfkit {
namespace {

TEST(TopK, ReturnsBestFirstAndSkipsMinusInfinity) {
  const float ninf = -std::numeric_limits<float>::infinity();
  std::vector<float> s = {0.1f, 0.9f, ninf, 0.5f, 0.9f, 0.3f};
  auto t = top_k(s.data(), static_cast<int32_t>(s.size()), 3);
  ASSERT_EQ(t.size(), 3u);
  EXPECT_EQ(t[0].index, 1);  // ties broken by the lower index
  EXPECT_EQ(t[1].index, 4);
  EXPECT_EQ(t[2].index, 3);
  auto all = top_k(s.data(), static_cast<int32_t>(s.size()), 10);
  EXPECT_EQ(all.size(), 5u);  // the -inf entry is never returned
}

TEST(TopK, EqualScoresComeInTheTieOrder) {
  // 100 equal scores (past the first block of 32) and one better: the tie order decides the rest.
  std::vector<float> s(100, 0.5f);
  s[70] = 0.9f;
  std::vector<int32_t> tie(100);
  for (int32_t i = 0; i < 100; ++i) tie[i] = 99 - i;  // the last index first
  auto t = top_k(s.data(), 100, 4, tie.data());
  ASSERT_EQ(t.size(), 4u);
  EXPECT_EQ(t[0].index, 70);
  EXPECT_EQ(t[1].index, 99);
  EXPECT_EQ(t[2].index, 98);
  EXPECT_EQ(t[3].index, 97);
  auto by_index = top_k(s.data(), 100, 3);
  EXPECT_EQ(by_index[1].index, 0);
  EXPECT_EQ(by_index[2].index, 1);
  EXPECT_EQ(rank_by_count({1, 5, 5, 0, 7}), (std::vector<int32_t>{3, 1, 2, 4, 0}));
}

TEST(Recommend, TiesFallByPopularityThenIndex) {
  // EASE on two disconnected blocks: u0's items {a} share no user with {b, c, d}, so those
  // three score exactly 0 for u0; d is the most popular (3 users), then c (2), then b (1).
  auto data = test::make_matrix({{"u0", "a", 1},
                                 {"u4", "a", 1},
                                 {"u1", "b", 1},
                                 {"u1", "c", 1},
                                 {"u1", "d", 1},
                                 {"u2", "c", 1},
                                 {"u2", "d", 1},
                                 {"u3", "d", 1}});
  auto model = create_model("ease");
  model->fit(data, {Context{1, 1}, nullptr, nullptr});
  const IdMap& ids = *model->item_ids();
  RecommendOptions o;
  o.k = 3;
  auto top = recommend(*model, {model->user_ids()->find("u0")}, o, Context{1, 1})[0];
  ASSERT_EQ(top.size(), 3u);
  EXPECT_EQ(top[0].score, top[2].score);
  EXPECT_EQ(ids.name(top[0].index), "d");
  EXPECT_EQ(ids.name(top[1].index), "c");
  EXPECT_EQ(ids.name(top[2].index), "b");
  // The same order for a folded-in user and in similar_items' cosine ties.
  auto fresh = recommend_new_user(*model, {ids.find("a")}, {1.0f}, o);
  ASSERT_EQ(fresh.size(), 3u);
  EXPECT_EQ(ids.name(fresh[0].index), "d");
  EXPECT_EQ(ids.name(fresh[2].index), "b");
}

TEST(Recommend, CallerGivenSeenRowsReplaceTheTrainingOnes) {
  auto data = test::make_matrix({{"u0", "a", 5},
                                 {"u0", "b", 4},
                                 {"u1", "c", 3},
                                 {"u1", "d", 2},
                                 {"u2", "a", 1},
                                 {"u2", "e", 4},
                                 {"u0", "f", 2},
                                 {"u1", "a", 5}});
  auto model = create_model("implicit-als");
  model->set_params({{"factors", 4}, {"iterations", 3}});
  model->fit(data, {Context{1, 1}, nullptr, nullptr});
  RecommendOptions o;
  o.k = 6;
  Csr seen;  // users 1 and 0 (in that order), each with one item only
  seen.indptr = {0, 1, 2};
  seen.indices = {4, 5};
  o.seen = &seen;
  auto lists = recommend(*model, {1, 0}, o, Context{1, 1});
  ASSERT_EQ(lists.size(), 2u);
  EXPECT_EQ(lists[0].size(), 5u);  // 6 items minus the one given
  for (const Scored& s : lists[0]) EXPECT_NE(s.index, 4);
  for (const Scored& s : lists[1]) EXPECT_NE(s.index, 5);
  Csr wrong = seen;
  wrong.indptr = {0, 2};
  o.seen = &wrong;
  EXPECT_THROW(recommend(*model, {1, 0}, o, Context{1, 1}), ParamError);
}

TEST(Recommend, FoldInUserGivesTheVectorThatScoresTheNewUser) {
  auto data = test::make_matrix({{"u0", "a", 5},
                                 {"u0", "b", 4},
                                 {"u1", "c", 3},
                                 {"u1", "d", 2},
                                 {"u2", "a", 1},
                                 {"u2", "e", 4},
                                 {"u0", "f", 2},
                                 {"u1", "a", 5}});
  for (const char* name : {"implicit-als", "biased-mf", "als"}) {
    auto model = create_model(name);
    model->fit(data, {Context{1, 1}, nullptr, nullptr});
    std::vector<int32_t> items = {0, 2};
    std::vector<float> values = {5, 3};
    int dim = 0;
    auto item_vecs = model->item_vectors(&dim);
    auto x = model->fold_in_user(items, values);
    ASSERT_EQ(static_cast<int>(x.size()), dim) << name;
    std::vector<float> scores(model->n_items());
    model->score_new_user(items, values, scores.data());
    // The folded vector orders the items as the model's own new-user scores do.
    auto dot = [&](int32_t i) {
      double s = 0;
      for (int d = 0; d < dim; ++d) s += double(x[d]) * item_vecs[size_t(i) * dim + d];
      return s;
    };
    if (std::string(name) == "implicit-als") {
      for (int32_t i = 0; i < model->n_items(); ++i) EXPECT_NEAR(dot(i), scores[i], 1e-4) << name << " item " << i;
    }
  }
}

TEST(Recommend, BatchedSimilarAndFoldInAgreeWithSingleQueriesAndKeepFilters) {
  auto data = test::make_matrix({{"u0", "a", 5},
                                 {"u0", "b", 4},
                                 {"u1", "c", 3},
                                 {"u1", "d", 2},
                                 {"u2", "a", 1},
                                 {"u2", "e", 4},
                                 {"u0", "f", 2},
                                 {"u1", "a", 5}});
  auto model = create_model("implicit-als");
  model->set_params({{"factors", 4}, {"iterations", 3}});
  model->fit(data, {Context{1, 1}, nullptr, nullptr});
  RecommendOptions o;
  o.k = 3;
  auto batch = similar_items(*model, std::vector<int32_t>{0, 2}, o);
  for (int q : {0, 1}) {
    auto one = similar_items(*model, q == 0 ? 0 : 2, 3);
    ASSERT_EQ(batch[q].size(), one.size());
    for (size_t j = 0; j < one.size(); ++j) EXPECT_EQ(batch[q][j].index, one[j].index);
  }
  o.exclude = {batch[0][0].index};
  o.candidates = {1, 3, 4, 5};
  auto filtered = similar_items(*model, std::vector<int32_t>{0}, o);
  EXPECT_FALSE(filtered[0].empty());
  for (const Scored& s : filtered[0]) {
    EXPECT_NE(s.index, o.exclude[0]);
    EXPECT_TRUE(s.index == 1 || s.index == 3 || s.index == 4 || s.index == 5);
  }
  Csr rows;
  rows.indptr = {0, 2, 3};
  rows.indices = {0, 2, 4};
  rows.values = {5, 3, 1};
  RecommendOptions r;
  r.k = 4;
  auto folded = recommend_new_users(*model, rows, r, Context{2, 1});
  auto first = recommend_new_user(*model, {0, 2}, {5, 3}, r);
  ASSERT_EQ(folded.size(), 2u);
  ASSERT_EQ(folded[0].size(), first.size());
  for (size_t j = 0; j < first.size(); ++j) EXPECT_EQ(folded[0][j].index, first[j].index);
}

}  // namespace
}  // namespace mfkit
