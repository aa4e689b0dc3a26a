#include <gtest/gtest.h>

#include "mfkit/recommend.h"
#include "mfkit/registry.h"
#include "test_util.h"

namespace mfkit {
namespace {

Interactions plays() {
  // item a: 3 users (1 play each); item b: 1 user with 10 plays; item c: 2 users.
  return test::make_matrix({{"u1", "a", 1},
                            {"u2", "a", 1},
                            {"u3", "a", 1},
                            {"u1", "b", 10},
                            {"u2", "c", 1},
                            {"u3", "c", 1},
                            {"u4", "d", 1}});
}

TEST(Popularity, CountsUsersPerItemOrSumsValues) {
  auto data = plays();
  auto m = create_model("popularity");
  m->fit(data);
  const int32_t a = data.item_ids()->at("a", "item"), b = data.item_ids()->at("b", "item"),
                c = data.item_ids()->at("c", "item");
  EXPECT_FLOAT_EQ(m->predict_one(0, a), 3.0f / 4);
  EXPECT_FLOAT_EQ(m->predict_one(0, c), 2.0f / 4);
  EXPECT_FLOAT_EQ(m->predict_one(-1, b), 1.0f / 4);  // unknown users get the same ranking
  m->set_params({{"weight", "sum"}});
  m->fit(data);
  EXPECT_FLOAT_EQ(m->predict_one(0, b), 10.0f / 4);
  EXPECT_GT(m->predict_one(0, b), m->predict_one(0, a));
}

TEST(Popularity, RecommendsTheMostPopularUnseenItems) {
  auto data = plays();
  auto m = create_model("popularity");
  m->fit(data);
  RecommendOptions o;
  o.k = 2;
  auto recs = recommend(*m, {data.user_ids()->at("u4", "user")}, o);
  ASSERT_EQ(recs[0].size(), 2u);
  EXPECT_EQ(m->item_ids()->name(recs[0][0].index), "a");
  EXPECT_EQ(m->item_ids()->name(recs[0][1].index), "c");
}

}  // namespace
}  // namespace mfkit
