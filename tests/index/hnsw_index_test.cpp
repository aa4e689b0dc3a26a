// The approximate index: recall against the exact scan, filters never broken, model files.
#include "mfkit/index.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <random>
#include <set>

#include "mfkit/data.h"
#include "mfkit/error.h"
#include "mfkit/model_file.h"
#include "mfkit/recommend.h"
#include "mfkit/registry.h"
#include "test_util.h"

namespace mfkit {
namespace {

std::unique_ptr<Model> fitted(const std::string& name, int32_t items = 1500) {
  SyntheticSpec spec;
  spec.users = 500;
  spec.items = items;
  spec.density = 0.03;
  auto m = create_model(name);
  m->set_params({{"factors", 24}});
  FitOptions opt;
  opt.ctx = Context{2, 1};
  m->fit(synthetic_ratings(spec), opt);
  return m;
}

std::vector<int32_t> all_users(const Model& m) {
  std::vector<int32_t> u(m.n_users());
  for (int32_t i = 0; i < m.n_users(); ++i) u[i] = i;
  return u;
}

double recall(const std::vector<std::vector<Scored>>& approx, const std::vector<std::vector<Scored>>& exact) {
  double hit = 0, n = 0;
  for (size_t r = 0; r < exact.size(); ++r) {
    std::set<int32_t> want;
    for (const Scored& s : exact[r]) want.insert(s.index);
    for (const Scored& s : approx[r]) hit += want.count(s.index);
    n += static_cast<double>(want.size());
  }
  return hit / n;
}

TEST(ItemIndex, FindsTheExactTopTenAtHighEfForModelsWithAndWithoutBiases) {
  for (const char* name : {"implicit-als", "biased-mf", "bpr"}) {
    auto m = fitted(name);
    IndexParams p;
    p.ef_search = 200;
    m->set_index(ItemIndex::build(*m, p, Context{2, 1}));
    RecommendOptions approx, exact;
    exact.exact = true;
    auto a = recommend(*m, all_users(*m), approx, Context{2, 1});
    auto e = recommend(*m, all_users(*m), exact, Context{2, 1});
    EXPECT_GE(recall(a, e), 0.99) << name;
    // The reported scores are the model's own.
    for (const Scored& s : a[3]) EXPECT_FLOAT_EQ(s.score, m->predict_one(3, s.index)) << name;
    // Similar items through the cosine graph.
    RecommendOptions so;
    so.k = 10;
    std::vector<int32_t> items{0, 5, 17, 99};
    auto sa = similar_items(*m, items, so);
    so.exact = true;
    auto se = similar_items(*m, items, so);
    EXPECT_GE(recall(sa, se), 0.95) << name;
  }
}

TEST(ItemIndex, TheL2TransformRanksByInnerProductWhenTheSearchIsExhaustive) {
  // Bachrach et al.'s extra dimension: with ef at the catalogue size the search visits every
  // item, so what comes back is exactly the inner-product top (the transform is right).
  auto m = fitted("biased-mf", 400);
  IndexParams p;
  p.metric = "l2-transform";
  p.ef_search = 400;
  p.cosine = false;
  m->set_index(ItemIndex::build(*m, p, Context{1, 1}));
  RecommendOptions approx, exact;
  exact.exact = true;
  EXPECT_GE(recall(recommend(*m, all_users(*m), approx), recommend(*m, all_users(*m), exact)), 0.999);
  test::TempDir d;
  save_model(*m, d.path("l2.mfk"));
  auto back = load_model(d.path("l2.mfk"));
  EXPECT_EQ(back->index()->params().metric, "l2-transform");
  EXPECT_FALSE(back->index()->has_cosine());
  EXPECT_THROW(back->index()->nearest_cosine_to(0, 5), Error);
  std::vector<float> q(back->index()->key_dim(), 0.25f);
  EXPECT_EQ(back->index()->top_inner_product(q.data(), 10), m->index()->top_inner_product(q.data(), 10));
}

TEST(ItemIndex, AnotherEfSearchTakesEffectOnTheSameGraphs) {
  auto m = fitted("biased-mf", 400);
  IndexParams p;
  p.ef_search = 1;
  p.cosine = false;
  auto index = ItemIndex::build(*m, p, Context{1, 1});
  m->set_index(index);
  RecommendOptions approx, exact;
  exact.exact = true;
  const auto truth = recommend(*m, all_users(*m), exact);
  index->set_ef_search(400);  // the whole catalogue: the search is exhaustive
  EXPECT_EQ(m->index()->params().ef_search, 400);
  EXPECT_GE(recall(recommend(*m, all_users(*m), approx), truth), 0.999);
  EXPECT_THROW(index->set_ef_search(0), ParamError);
}

TEST(ItemIndex, AnApproximateAnswerNeverHoldsAFilteredItem) {
  auto m = fitted("implicit-als");
  IndexParams p;
  p.ef_search = 16;  // a weak search: over-fetching and retries are what keep the filters
  m->set_index(ItemIndex::build(*m, p, Context{1, 1}));
  std::mt19937 rng(5);
  const int32_t ni = m->n_items();
  for (int trial = 0; trial < 60; ++trial) {
    RecommendOptions o;
    o.k = 1 + static_cast<int>(rng() % 40);
    o.filter_seen = rng() % 4 != 0;
    int n_ex = static_cast<int>(rng() % 300);
    for (int j = 0; j < n_ex; ++j) o.exclude.push_back(static_cast<int32_t>(rng() % ni));
    if (rng() % 2) {
      int n_c = static_cast<int>(rng() % (trial % 3 == 0 ? 100 : 1400)) + 1;
      for (int j = 0; j < n_c; ++j) o.candidates.push_back(static_cast<int32_t>(rng() % ni));
    }
    std::vector<int32_t> users;
    for (int j = 0; j < 20; ++j) users.push_back(static_cast<int32_t>(rng() % m->n_users()));
    Csr own;  // sometimes the caller's own seen items instead of the training ones
    if (rng() % 3 == 0) {
      own.indptr.push_back(0);
      for (size_t j = 0; j < users.size(); ++j) {
        int n_s = static_cast<int>(rng() % 200);
        for (int s = 0; s < n_s; ++s) own.indices.push_back(static_cast<int32_t>(rng() % ni));
        own.indptr.push_back(static_cast<int64_t>(own.indices.size()));
      }
      o.seen = &own;
    }
    auto lists = recommend(*m, users, o, Context{2, 1});
    std::set<int32_t> ex(o.exclude.begin(), o.exclude.end()), cand(o.candidates.begin(), o.candidates.end());
    // Similar items through the cosine graph keep the same filters (and never the query itself).
    RecommendOptions so = o;
    so.seen = nullptr;
    std::vector<int32_t> queries{users[0] % ni, users[1] % ni};
    auto similar = similar_items(*m, queries, so);
    for (size_t q = 0; q < queries.size(); ++q)
      for (const Scored& s : similar[q]) {
        EXPECT_EQ(ex.count(s.index), 0u) << "trial " << trial;
        if (!cand.empty()) {
          EXPECT_EQ(cand.count(s.index), 1u) << "trial " << trial;
        }
        EXPECT_NE(s.index, queries[q]) << "trial " << trial;
      }
    for (size_t r = 0; r < users.size(); ++r) {
      const Csr& seen = o.seen ? *o.seen : m->seen();
      int64_t row = o.seen ? static_cast<int64_t>(r) : users[r];
      std::set<int32_t> seen_items(seen.indices.begin() + seen.indptr[row],
                                   seen.indices.begin() + seen.indptr[row + 1]);
      // As many as the filters leave, up to k; none of them filtered; no repeats.
      int64_t allowed = 0;
      for (int32_t i = 0; i < ni; ++i)
        allowed += !ex.count(i) && (cand.empty() || cand.count(i)) && !(o.filter_seen && seen_items.count(i));
      EXPECT_EQ(static_cast<int64_t>(lists[r].size()), std::min<int64_t>(o.k, allowed)) << "trial " << trial;
      std::set<int32_t> got;
      for (const Scored& s : lists[r]) {
        EXPECT_EQ(ex.count(s.index), 0u) << "trial " << trial;
        if (!cand.empty()) {
          EXPECT_EQ(cand.count(s.index), 1u) << "trial " << trial;
        }
        if (o.filter_seen) {
          EXPECT_EQ(seen_items.count(s.index), 0u) << "trial " << trial;
        }
        EXPECT_TRUE(got.insert(s.index).second);
      }
      for (size_t j = 1; j < lists[r].size(); ++j) EXPECT_GE(lists[r][j - 1].score, lists[r][j].score);
    }
  }
}

TEST(ItemIndex, TravelsInTheModelFileAndAnOldFileLoadsWithout) {
  test::TempDir d;
  auto m = fitted("biased-mf");
  save_model(*m, d.path("plain.mfk"));
  EXPECT_EQ(load_model(d.path("plain.mfk"))->index(), nullptr);
  IndexParams p;
  p.M = 8;
  p.ef_search = 40;
  m->set_index(ItemIndex::build(*m, p, Context{1, 1}));
  save_model(*m, d.path("indexed.mfk"));
  auto back = load_model(d.path("indexed.mfk"));
  ASSERT_NE(back->index(), nullptr);
  EXPECT_EQ(back->index()->params().M, 8);
  EXPECT_EQ(back->index()->params().ef_search, 40);
  EXPECT_TRUE(back->index()->has_cosine());
  std::vector<float> q(back->index()->key_dim(), 0.5f);
  EXPECT_EQ(back->index()->top_inner_product(q.data(), 10), m->index()->top_inner_product(q.data(), 10));
  auto a = recommend(*m, all_users(*m), RecommendOptions{}, Context{1, 1});
  auto b = recommend(*back, all_users(*back), RecommendOptions{}, Context{1, 1});
  for (size_t r = 0; r < a.size(); ++r)
    for (size_t j = 0; j < a[r].size(); ++j) EXPECT_EQ(a[r][j].index, b[r][j].index);
  // The golden file of format 1 (no index section) still loads.
  EXPECT_EQ(load_model(std::string(MFKIT_TEST_DATA_DIR) + "/biased_mf_v1.mfk")->index(), nullptr);
  // Refitting drops the index: it would describe the old items.
  SyntheticSpec spec;
  spec.items = 300;
  back->fit(synthetic_ratings(spec));
  EXPECT_EQ(back->index(), nullptr);
}

TEST(ItemIndex, RefusesModelsWhoseScoresAreNotInnerProductsAndMismatchedIndexes) {
  auto pop = create_model("popularity");
  pop->fit(synthetic_ratings());
  EXPECT_THROW(ItemIndex::build(*pop, IndexParams{}, Context{1, 1}), Error);
  auto small = fitted("implicit-als", 300), large = fitted("implicit-als", 1500);
  auto idx = ItemIndex::build(*small, IndexParams{}, Context{1, 1});
  EXPECT_THROW(large->set_index(idx), Error);
  // A section of a newer layout, a graph for other items, or damaged graph bytes are refused.
  TensorMap t;
  idx->save(t);
  EXPECT_NO_THROW(ItemIndex::load(t, *small));
  EXPECT_THROW(ItemIndex::load(t, *large), Error);
  TensorMap newer = t;
  newer["index.version"] = Tensor::i32({2});
  EXPECT_THROW(ItemIndex::load(newer, *small), Error);
  TensorMap cut = t;
  cut["index.mips"].bytes.resize(cut["index.mips"].bytes.size() / 2);
  EXPECT_THROW(ItemIndex::load(cut, *small), Error);
  IndexParams bad;
  EXPECT_THROW(params_from_json(bad, {{"M", 1}}, "index"), ParamError);
  EXPECT_THROW(params_from_json(bad, {{"ef", 10}}, "index"), ParamError);
}

// A tampered graph (with a valid checksum) loads without complaint into hnswlib and crashes the
// first query; every field a query follows is checked at load instead (issue 38).
TEST(ItemIndex, ATamperedGraphIsRefusedAtLoadNotAtTheFirstQuery) {
  test::TempDir d;
  auto m = fitted("implicit-als", 300);
  IndexParams p;
  p.M = 8;
  m->set_index(ItemIndex::build(*m, p, Context{1, 1}));
  TensorMap t;
  m->index()->save(t);
  const std::vector<uint8_t> graph = t["index.mips"].bytes;
  auto u64 = [&](size_t at) {
    uint64_t v;
    std::memcpy(&v, graph.data() + at, 8);
    return v;
  };
  const uint64_t n = u64(16), per = u64(24), label_at = u64(32);
  ASSERT_EQ(n, 300u);
  auto tampered = [&](size_t at, const void* v, size_t len) {
    TensorMap x = t;
    std::memcpy(x["index.mips"].bytes.data() + at, v, len);
    return x;
  };
  const uint32_t far = 100000, big_level = 1000;
  const uint16_t many = 60000;
  const uint64_t bad_label = n + 3;
  const size_t node0 = 96, node7 = 96 + 7 * per;
  struct Case {
    const char* what;
    TensorMap tensors;
  };
  std::vector<Case> cases = {
      {"entry point", tampered(52, &far, 4)},
      {"top level", tampered(48, &big_level, 4)},
      {"link count", tampered(node7, &many, 2)},
      {"neighbour id", tampered(node0 + 4, &far, 4)},
      {"label", tampered(node7 + label_at, &bad_label, 8)},
      {"deleted mark", tampered(node0 + 2, "\x01", 1)},
      {"links per node", tampered(72, &bad_label, 8)},
  };
  // A node's upper-level byte count: the first node with levels gets one it cannot have.
  {
    size_t at = 96 + n * per;
    for (uint64_t i = 0; i < n; ++i) {
      uint32_t bytes;
      std::memcpy(&bytes, graph.data() + at, 4);
      if (bytes) {
        const uint32_t odd = bytes + 3;
        cases.push_back({"level size", tampered(at, &odd, 4)});
        // and its level-1 list given one link pointing past the graph
        Case link{"upper link", tampered(at + 8, &far, 4)};
        const uint16_t one = 1;
        std::memcpy(link.tensors["index.mips"].bytes.data() + at + 4, &one, 2);
        cases.push_back(std::move(link));
        break;
      }
      at += 4;
    }
    ASSERT_GE(cases.size(), 9u);
  }
  for (const Case& c : cases) {
    EXPECT_THROW(ItemIndex::load(c.tensors, *m), Error) << c.what;
    // Through a whole model file with a valid checksum: refused naming the file.
    ModelFile f = read_model_file([&] {
      save_model(*m, d.path("ok.mfk"));
      return d.path("ok.mfk");
    }());
    f.tensors["index.mips"] = c.tensors.at("index.mips");
    write_model_file(d.path("bad.mfk"), f);
    try {
      load_model(d.path("bad.mfk"));
      ADD_FAILURE() << c.what << ": loaded";
    } catch (const ModelFileError& e) {
      EXPECT_NE(std::string(e.what()).find("bad.mfk"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("index.mips"), std::string::npos) << e.what();
    }
  }
  EXPECT_NO_THROW(ItemIndex::load(t, *m));
}

}  // namespace
}  // namespace mfkit
