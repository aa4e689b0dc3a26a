#include "mfkit/split.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <string>

#include "mfkit/data.h"
#include "mfkit/error.h"
#include "test_util.h"

namespace mfkit {
namespace {

std::set<std::tuple<int32_t, int32_t, float>> entries(const Interactions& m) {
  std::set<std::tuple<int32_t, int32_t, float>> s;
  Coo c = m.to_coo();
  for (size_t e = 0; e < c.size(); ++e) s.insert({c.users[e], c.items[e], c.values[e]});
  return s;
}

void expect_partition(const Interactions& all, const Split& s) {
  auto a = entries(all), tr = entries(s.train), te = entries(s.test);
  EXPECT_EQ(tr.size() + te.size(), a.size());
  for (const auto& e : te) EXPECT_EQ(tr.count(e), 0u);
  for (const auto& e : tr) EXPECT_EQ(a.count(e), 1u);
  EXPECT_EQ(s.train.user_ids(), all.user_ids());
}

TEST(Split, RandomIsAPartitionOfTheRightSizeAndReproducible) {
  auto m = synthetic_ratings();
  Split s = random_split(m, 0.9, 3);
  expect_partition(m, s);
  EXPECT_EQ(s.test.nnz(), m.nnz() - std::llround(0.9 * m.nnz()));
  Split t = random_split(m, 0.9, 3), u = random_split(m, 0.9, 4);
  EXPECT_EQ(entries(s.test), entries(t.test));
  EXPECT_NE(entries(s.test), entries(u.test));
  EXPECT_THROW(random_split(m, 1.0, 1), ParamError);
}

// hash:F depends on the cell's raw ids only: the same data numbered in reverse id order holds
// out the same cells (what lets every process layout of a distributed run agree).
TEST(Split, KeyedHoldsOutTheSameCellsWhateverTheNumbering) {
  auto m = synthetic_ratings();
  Split s = keyed_split(m, 0.9, 3);
  expect_partition(m, s);
  EXPECT_NEAR(static_cast<double>(s.test.nnz()) / m.nnz(), 0.1, 0.01);
  auto names = [](const Interactions& x) {
    std::set<std::pair<std::string, std::string>> out;
    Coo c = x.to_coo();
    for (size_t e = 0; e < c.size(); ++e) out.insert({x.user_ids()->name(c.users[e]), x.item_ids()->name(c.items[e])});
    return out;
  };
  auto users = std::make_shared<IdMap>(), items = std::make_shared<IdMap>();
  for (int32_t u = m.n_users() - 1; u >= 0; --u) users->add(m.user_ids()->name(u));
  for (int32_t i = m.n_items() - 1; i >= 0; --i) items->add(m.item_ids()->name(i));
  Coo c = m.to_coo();
  for (size_t e = 0; e < c.size(); ++e) {
    c.users[e] = m.n_users() - 1 - c.users[e];
    c.items[e] = m.n_items() - 1 - c.items[e];
  }
  Split r = make_split(Interactions::from_coo(c, users, items), "hash:0.9", 3);
  EXPECT_EQ(names(r.test), names(s.test));
  EXPECT_NE(names(keyed_split(m, 0.9, 4).test), names(s.test));
  EXPECT_TRUE(keyed_test_cell("u", "i", 0.0, 1) && !keyed_test_cell("u", "i", 1.0, 1));
}

TEST(Split, KfoldFoldsPartitionTheData) {
  auto m = synthetic_ratings();
  std::set<std::tuple<int32_t, int32_t, float>> seen;
  int64_t total = 0;
  for (int f = 0; f < 5; ++f) {
    Split s = kfold_split(m, 5, f, 9);
    expect_partition(m, s);
    auto te = entries(s.test);
    total += te.size();
    seen.insert(te.begin(), te.end());
  }
  EXPECT_EQ(total, m.nnz());
  EXPECT_EQ(static_cast<int64_t>(seen.size()), m.nnz());
  EXPECT_THROW(kfold_split(m, 5, 5, 1), ParamError);
}

TEST(Split, UserHoldoutKeepsEveryUserInTrain) {
  auto m = synthetic_ratings();
  Split s = user_holdout_split(m, 0.2, 1);
  expect_partition(m, s);
  for (int32_t u = 0; u < m.n_users(); ++u) {
    int64_t n = m.by_user().row_size(u);
    if (n >= 2) {
      EXPECT_GE(s.train.by_user().row_size(u), 1);
      EXPECT_GE(s.test.by_user().row_size(u), 1);
    }
  }
}

TEST(Split, LeaveLastOutTakesTheLatestAndSamplesUnseenNegatives) {
  auto users = std::make_shared<IdMap>(), items = std::make_shared<IdMap>();
  for (int i = 0; i < 20; ++i) items->add("i" + std::to_string(i));
  users->add("a");
  users->add("b");
  Coo c;
  c.users = {0, 0, 0, 1, 1};
  c.items = {0, 1, 2, 3, 4};
  c.values = {1, 1, 1, 1, 1};
  c.times = {5, 9, 7, 2, 1};
  auto m = Interactions::from_coo(c, users, items);
  Split s = leave_last_out_split(m, 10, 1);
  expect_partition(m, s);
  EXPECT_EQ(s.test.by_user().indices[s.test.by_user().indptr[0]], 1);  // time 9
  EXPECT_EQ(s.test.by_user().indices[s.test.by_user().indptr[1]], 3);  // time 2
  for (int32_t u = 0; u < 2; ++u) {
    EXPECT_EQ(s.negatives[u].size(), 10u);
    std::set<int32_t> neg(s.negatives[u].begin(), s.negatives[u].end());
    EXPECT_EQ(neg.size(), 10u);
    for (int64_t e = m.by_user().indptr[u]; e < m.by_user().indptr[u + 1]; ++e)
      EXPECT_EQ(neg.count(m.by_user().indices[e]), 0u);
  }
  // Without timestamps: one seeded random item per user, and the description says so.
  c.times.clear();
  Split r = leave_last_out_split(Interactions::from_coo(c, users, items), 5, 1);
  EXPECT_EQ(r.test.nnz(), 2);
  EXPECT_NE(r.description.find("no timestamps"), std::string::npos);
}

TEST(Split, CanonicalFilesMapThroughTheDataIds) {
  test::TempDir d;
  d.file("u1.base", "1\t1\t5\t1\n2\t2\t3\t1\n");
  d.file("u1.test", "1\t2\t4\t1\n");
  auto all = load_ratings(d.file("u.data", "1\t1\t5\t1\n2\t2\t3\t1\n1\t2\t4\t1\n"),
                          parse_format("user,item,rating,timestamp", "\t", false))
                 .data;
  Split s = make_split(all, "u1", 1, d.path());
  expect_partition(all, s);
  EXPECT_EQ(s.test.nnz(), 1);
  EXPECT_THROW(make_split(all, "u7", 1, d.path()), ParamError);
}

TEST(Split, SpecsParseAndBadOnesAreNamed) {
  auto m = synthetic_ratings();
  EXPECT_EQ(make_split(m, "random:0.8", 1).test.nnz(), m.nnz() - std::llround(0.8 * m.nnz()));
  EXPECT_GT(make_split(m, "kfold:4:1", 1).test.nnz(), 0);
  EXPECT_EQ(make_split(m, "loo:7", 1).negatives.size(), static_cast<size_t>(m.n_users()));
  EXPECT_THROW(make_split(m, "random:abc", 1), ParamError);
  EXPECT_THROW(make_split(m, "bogus", 1), ParamError);
  for (const char* spec : {"none", "random:1"}) {
    Split all = make_split(m, spec, 1);
    EXPECT_EQ(all.train.nnz(), m.nnz()) << spec;
    EXPECT_EQ(all.test.nnz(), 0) << spec;
    EXPECT_EQ(all.test.n_users(), m.n_users()) << spec;
  }
  EXPECT_THROW(make_split(m, "none:0.5", 1), ParamError);
  EXPECT_THROW(make_split(m, "random:1.5", 1), ParamError);
  // Handed over, the data becomes the training part itself (no copy); other specs still split.
  Interactions copy = m;
  const int32_t* entries = copy.by_user().indices.data();
  Split moved = make_split(std::move(copy), "none", 1);
  EXPECT_EQ(moved.train.by_user().indices.data(), entries);
  EXPECT_EQ(moved.train.by_user().values, m.by_user().values);
  EXPECT_EQ(moved.test.nnz(), 0);
  EXPECT_EQ(make_split(Interactions(m), "random:0.8", 1).test.nnz(), make_split(m, "random:0.8", 1).test.nnz());
  EXPECT_THROW(make_split(Interactions(m), "none:0.5", 1), ParamError);
  auto [train, valid] = carve_validation(m, 0.1, 1);
  EXPECT_EQ(train.nnz() + valid.nnz(), m.nnz());
}

}  // namespace
}  // namespace mfkit
