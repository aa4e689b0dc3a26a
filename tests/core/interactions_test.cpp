#include "mfkit/interactions.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>

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

TEST(IdMap, IntegerIdsAreTheirTextAndOtherSpellingsStayDistinct) {
  IdMap m;
  EXPECT_EQ(m.add("7"), 0);
  EXPECT_EQ(m.add("07"), 1);  // not canonical: a string id of its own
  EXPECT_EQ(m.add("+7"), 2);
  EXPECT_EQ(m.add("-7"), 3);
  EXPECT_EQ(m.add_integer(7), 0);
  EXPECT_EQ(m.add("123456789012345678"), 4);         // beyond the table: the integer hash
  EXPECT_EQ(m.add("1234567890123456789"), 5);        // 19 digits: kept as text
  EXPECT_EQ(m.add_integer(int64_t(1) << 40), 6);
  EXPECT_EQ(m.find("1099511627776"), 6);
  EXPECT_EQ(m.name(6), "1099511627776");
  EXPECT_EQ(m.find("-0"), -1);
  EXPECT_EQ(m.add("-0"), 7);
  EXPECT_EQ(m.find("0"), -1);
  for (int i = 0; i < 3000; ++i) m.add(std::to_string(i * 1000));  // the table grows past its start
  EXPECT_EQ(m.find("7"), 0);
  EXPECT_EQ(m.find("2999000"), m.size() - 1);
  EXPECT_EQ(m.name(m.find("5000")), "5000");
  int64_t v = 0;
  EXPECT_TRUE(IdMap::canonical_integer("-42", v));
  EXPECT_EQ(v, -42);
  EXPECT_FALSE(IdMap::canonical_integer("", v));
  EXPECT_FALSE(IdMap::canonical_integer("-", v));
  EXPECT_FALSE(IdMap::canonical_integer("4 2", v));
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

TEST(Interactions, LargeUnsortedInputMatchesASortedReference) {
  // Big enough for the parallel passes; each row's items are sorted and duplicates merged by
  // input order exactly as a plain std::map reference does.
  auto users = std::make_shared<IdMap>(), items = std::make_shared<IdMap>();
  for (int u = 0; u < 700; ++u) users->add(std::to_string(u));
  for (int i = 0; i < 900; ++i) items->add(std::to_string(i));
  Coo c;
  std::map<std::pair<int32_t, int32_t>, float> last, sum;
  uint64_t x = 7;
  for (int e = 0; e < 250000; ++e) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    int32_t u = static_cast<int32_t>((x >> 20) % 700), i = static_cast<int32_t>((x >> 40) % 900);
    float v = static_cast<float>((x >> 10) % 5 + 1);
    c.users.push_back(u);
    c.items.push_back(i);
    c.values.push_back(v);
    last[{u, i}] = v;
    sum[{u, i}] += v;
  }
  auto m = Interactions::from_coo(c, users, items, DuplicatePolicy::kLast);
  auto s = Interactions::from_coo(c, users, items, DuplicatePolicy::kSum);
  ASSERT_EQ(m.nnz(), static_cast<int64_t>(last.size()));
  EXPECT_EQ(m.duplicates_merged(), 250000 - m.nnz());
  Coo got = m.to_coo(), got_sum = s.to_coo();
  size_t k = 0;
  for (const auto& [key, v] : last) {
    ASSERT_EQ(got.users[k], key.first);
    ASSERT_EQ(got.items[k], key.second);
    ASSERT_EQ(got.values[k], v);
    ASSERT_EQ(got_sum.values[k], sum[key]);
    ++k;
  }
  // The item layout holds the same entries, users ascending within each item.
  const Csr& t = m.by_item();
  for (int32_t i = 0; i < 900; ++i)
    for (int64_t e = t.indptr[i]; e < t.indptr[i + 1]; ++e) {
      if (e > t.indptr[i]) ASSERT_LT(t.indices[e - 1], t.indices[e]);
      ASSERT_EQ(t.values[e], (last[{t.indices[e], i}]));
    }
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
