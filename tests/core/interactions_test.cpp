#include "mfkit/interactions.h"

#include <gtest/gtest.h>

#include <cmath>

#include "mfkit/error.h"
#include "test_util.h"

namespace mfkit {
namespace {

TEST(IdMap, AddsFindsAndNamesIds) {
  IdMap m;
  EXPECT_EQ(m.add("42"), 0);
  EXPECT_EQ(m.add("alice"), 1);
  EXPECT_EQ(m.add("42"), 0);
  EXPECT_EQ(m.find("alice"), 1);
  EXPECT_EQ(m.find("bob"), -1);
  EXPECT_EQ(m.name(1), "alice");
  EXPECT_THROW(m.at("bob", "user"), NotFoundError);
  EXPECT_THROW(IdMap::from_names({"a", "a"}), Error);
}

TEST(Interactions, BuildsBothLayoutsSorted) {
  auto m = test::make_matrix({{"u1", "b", 3}, {"u2", "a", 4}, {"u1", "a", 5}, {"u3", "c", 1}});
  ASSERT_EQ(m.n_users(), 3);
  ASSERT_EQ(m.n_items(), 3);  // b=0, a=1, c=2
  ASSERT_EQ(m.nnz(), 4);
  const Csr& u = m.by_user();
  EXPECT_EQ(u.indptr, (std::vector<int64_t>{0, 2, 3, 4}));
  EXPECT_EQ(u.indices, (std::vector<int32_t>{0, 1, 1, 2}));  // u1: b(0)=3, a(1)=5
  EXPECT_EQ(u.values, (std::vector<float>{3, 5, 4, 1}));
  const Csr& i = m.by_item();
  EXPECT_EQ(i.indptr, (std::vector<int64_t>{0, 1, 3, 4}));
  EXPECT_EQ(i.indices, (std::vector<int32_t>{0, 0, 1, 2}));  // a: u1, u2
  EXPECT_EQ(i.values, (std::vector<float>{3, 5, 4, 1}));
  EXPECT_DOUBLE_EQ(m.mean_value(), 13.0 / 4);
}

TEST(Interactions, DuplicatePolicies) {
  auto users = std::make_shared<IdMap>(), items = std::make_shared<IdMap>();
  users->add("u");
  items->add("i");
  Coo c;
  c.users = {0, 0, 0};
  c.items = {0, 0, 0};
  c.values = {1, 2, 4};
  c.times = {10, 30, 20};
  auto last = Interactions::from_coo(c, users, items, DuplicatePolicy::kLast);
  EXPECT_EQ(last.nnz(), 1);
  EXPECT_EQ(last.by_user().values[0], 2);  // latest timestamp wins
  EXPECT_EQ(last.duplicates_merged(), 2);
  auto sum = Interactions::from_coo(c, users, items, DuplicatePolicy::kSum);
  EXPECT_EQ(sum.by_user().values[0], 7);
  EXPECT_THROW(Interactions::from_coo(c, users, items, DuplicatePolicy::kError), Error);
  c.times.clear();
  EXPECT_EQ(Interactions::from_coo(c, users, items).by_user().values[0], 4);  // later in input wins
}

TEST(Interactions, RejectsOutOfRangeIndices) {
  auto users = std::make_shared<IdMap>(), items = std::make_shared<IdMap>();
  users->add("u");
  items->add("i");
  Coo c;
  c.users = {1};
  c.items = {0};
  c.values = {1};
  EXPECT_THROW(Interactions::from_coo(c, users, items), Error);
}

TEST(Interactions, SubsetKeepsIdMapsAndShape) {
  auto m = test::make_matrix({{"u1", "a", 1}, {"u1", "b", 2}, {"u2", "a", 3}});
  auto s = m.subset({0, 2});
  EXPECT_EQ(s.nnz(), 2);
  EXPECT_EQ(s.n_users(), 2);
  EXPECT_EQ(s.n_items(), 2);
  EXPECT_EQ(s.user_ids(), m.user_ids());
  EXPECT_EQ(s.by_user().values, (std::vector<float>{1, 3}));
}

TEST(Interactions, FromCsrMatchesFromCooAndRejectsBadRows) {
  auto m = test::make_matrix({{"u1", "b", 3}, {"u2", "a", 4}, {"u1", "a", 5}, {"u3", "c", 1}});
  Csr c = m.by_user();
  c.times.clear();
  auto again = Interactions::from_csr(c, m.user_ids(), m.item_ids());
  EXPECT_EQ(again.by_item().indptr, m.by_item().indptr);
  EXPECT_EQ(again.by_item().indices, m.by_item().indices);
  EXPECT_EQ(again.by_item().values, m.by_item().values);
  Csr dup = c;
  dup.indices[1] = 0;  // u1 holds column 0 twice
  EXPECT_THROW(Interactions::from_csr(dup, m.user_ids(), m.item_ids()), Error);
  Csr wide = c;
  wide.indices[3] = 3;  // outside the 3-item map
  EXPECT_THROW(Interactions::from_csr(wide, m.user_ids(), m.item_ids()), Error);
  Csr nan = c;
  nan.values[2] = std::nanf("");
  EXPECT_THROW(Interactions::from_csr(nan, m.user_ids(), m.item_ids()), Error);
  Csr short_ptr = c;
  short_ptr.indptr.back() = 3;  // does not reach nnz
  EXPECT_THROW(Interactions::from_csr(short_ptr, m.user_ids(), m.item_ids()), Error);
}

}  // namespace
}  // namespace mfkit
