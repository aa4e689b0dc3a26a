#include "mfkit/interactions.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <tuple>

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
  EXPECT_EQ(m.add("123456789012345678"), 4);   // beyond the table: the integer hash
  EXPECT_EQ(m.add("1234567890123456789"), 5);  // 19 digits: kept as text
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

// Big enough for the parallel passes (over a million entries, in three parts); each row's items
// are sorted and duplicates merged (the latest timestamp, then the later input, wins) exactly as
// a plain reference does, from input in any order and from input already sorted. The second
// shape has more users than a one-pass scatter takes (the two-level sort).
class LargeInput : public ::testing::TestWithParam<std::pair<int, int>> {};

TEST_P(LargeInput, MatchesASortedReferenceInAnyOrder) {
  const auto [NU, NI] = GetParam();
  auto users = std::make_shared<IdMap>(), items = std::make_shared<IdMap>();
  for (int u = 0; u < NU; ++u) users->add(std::to_string(u));
  for (int i = 0; i < NI; ++i) items->add(std::to_string(i));
  struct Entry {
    int32_t u, i;
    float v;
    int64_t t;
  };
  std::vector<Entry> in;
  uint64_t x = 7;
  for (int e = 0; e < 1100000; ++e) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    in.push_back({static_cast<int32_t>((x >> 20) % NU), static_cast<int32_t>((x >> 40) % NI),
                  static_cast<float>((x >> 10) % 5 + 1), static_cast<int64_t>((x >> 13) % 4)});
  }
  for (bool sorted : {false, true}) {
    if (sorted)
      std::stable_sort(in.begin(), in.end(),
                       [](const Entry& a, const Entry& b) { return std::tie(a.u, a.i) < std::tie(b.u, b.i); });
    // The reference, one slot per (user, item) in row-major order: seen, time and value of the
    // latest line (the later one among equal times), the value of the last line, the sum.
    struct Cell {
      bool seen = false;
      int64_t t = 0;
      float v = 0, later = 0, sum = 0;
    };
    std::vector<Cell> ref(static_cast<size_t>(NU) * NI);
    std::vector<Coo> parts(3), timed(3);
    for (size_t e = 0; e < in.size(); ++e) {
      const Entry& r = in[e];
      for (Coo* c : {&parts[e * 3 / in.size()], &timed[e * 3 / in.size()]}) {
        c->users.push_back(r.u);
        c->items.push_back(r.i);
        c->values.push_back(r.v);
      }
      timed[e * 3 / in.size()].times.push_back(r.t);
      Cell& c = ref[static_cast<size_t>(r.u) * NI + r.i];
      if (!c.seen || r.t >= c.t) c.t = r.t, c.v = r.v;
      c.seen = true;
      c.later = r.v;
      c.sum += r.v;
    }
    auto plain = Interactions::from_coo(std::vector<Coo>(parts), users, items, DuplicatePolicy::kLast);
    auto m = Interactions::from_coo(std::move(timed), users, items, DuplicatePolicy::kLast);
    auto s = Interactions::from_coo(std::move(parts), users, items, DuplicatePolicy::kSum);
    int64_t cells = 0;
    for (const Cell& c : ref) cells += c.seen;
    ASSERT_EQ(m.nnz(), cells) << sorted;
    EXPECT_EQ(m.duplicates_merged(), static_cast<int64_t>(in.size()) - m.nnz());
    Coo got = m.to_coo(), got_sum = s.to_coo(), got_plain = plain.to_coo();
    size_t k = 0;
    for (int32_t key = 0; key < NU * NI; ++key) {
      const Cell& c = ref[key];
      if (!c.seen) continue;
      ASSERT_EQ(got.users[k], key / NI);
      ASSERT_EQ(got.items[k], key % NI);
      ASSERT_EQ(got.values[k], c.v) << sorted;
      ASSERT_EQ(got.times[k], c.t);
      ASSERT_EQ(got_sum.values[k], c.sum);
      ASSERT_EQ(got_plain.items[k], key % NI);
      ASSERT_EQ(got_plain.values[k], c.later) << sorted;  // without times the later line wins
      ++k;
    }
    // The item layout holds the same entries, users ascending within each item.
    const Csr& t = m.by_item();
    for (int32_t i = 0; i < NI; ++i)
      for (int64_t e = t.indptr[i]; e < t.indptr[i + 1]; ++e) {
        if (e > t.indptr[i]) {
          ASSERT_LT(t.indices[e - 1], t.indices[e]);
        }
        ASSERT_EQ(t.values[e], ref[static_cast<size_t>(t.indices[e]) * NI + i].v);
        ASSERT_EQ(t.times[e], ref[static_cast<size_t>(t.indices[e]) * NI + i].t);
      }
  }
}

INSTANTIATE_TEST_SUITE_P(Interactions, LargeInput,
                         ::testing::Values(std::make_pair(700, 900), std::make_pair(70000, 8)));

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
