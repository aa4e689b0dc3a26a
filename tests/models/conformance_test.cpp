// One test body run against every registered model (the conformance suite).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <random>

#include "data/text_file.h"
#include "mfkit/data.h"
#include "mfkit/error.h"
#include "mfkit/evaluate.h"
#include "mfkit/metrics.h"
#include "mfkit/model_file.h"
#include "mfkit/recommend.h"
#include "mfkit/registry.h"
#include "mfkit/split.h"
#include "test_util.h"

namespace mfkit {
namespace {

class Conformance : public ::testing::TestWithParam<std::string> {
 protected:
  std::unique_ptr<Model> make() {
    auto m = create_model(GetParam());
    // Small and quick: every model has either epochs or iterations.
    nlohmann::json p = m->params();
    nlohmann::json small;
    if (p.contains("factors")) small["factors"] = 8;
    if (p.contains("epochs")) small["epochs"] = 15;
    if (p.contains("iterations")) small["iterations"] = 6;
    if (GetParam() == "shallow-net")  // trained on observed cells + negatives, quickly
      small.update({{"epochs", 12},
                    {"cells", "sampled"},
                    {"negatives", 2},
                    {"batch_size", 256},
                    {"learning_rate", 0.01},
                    {"reg", 0.0001}});
    if (GetParam() == "nnmf")
      small.update({{"epochs", 20},
                    {"d_prime", 8},
                    {"hidden", 16},
                    {"layers", 2},
                    {"batch_size", 128},
                    {"learning_rate", 0.005},
                    {"patience", 0},
                    {"biases", true},
                    {"ensemble", 1},
                    {"skip", true},
                    {"ema", 0.5}});  // skip path and a short moving average: exercised here
    if (GetParam() == "bpr") small.update({{"epochs", 40}, {"learning_rate", 0.1}});
    if (GetParam() == "ease") small["reg"] = 100.0;  // the tests' matrices are small
    m->set_params(small);
    return m;
  }
  /// Models fitted in one pass (popularity, ease) report a single epoch.
  bool iterative() {
    nlohmann::json p = create_model(GetParam())->params();
    return p.contains("epochs") || p.contains("iterations");
  }
};

std::vector<std::string> model_names() {
  std::vector<std::string> v;
  for (const auto& e : model_registry()) v.push_back(e.name);
  return v;
}

TEST_P(Conformance, RegistryEntryAgreesWithTheModel) {
  const ModelEntry& e = model_entry(GetParam());
  auto m = e.create();
  EXPECT_EQ(m->type(), e.name);
  EXPECT_EQ(m->implicit(), e.implicit) << "the registry's `implicit` for " << e.name << " differs from the model's";
  nlohmann::json p = m->params();
  for (const ParamInfo& info : e.describe()) EXPECT_TRUE(p.contains(info.name)) << e.name << ": " << info.name;
}

// tests/golden/<type>_v1.mfk, written by tests/golden/make_golden.py when the type was added,
// still loads and gives the answers it gave then (predictions, top-3 lists).
TEST_P(Conformance, GoldenFileStillLoadsAndAnswersTheSame) {
  std::string stem = GetParam();
  std::replace(stem.begin(), stem.end(), '-', '_');
  const std::string dir = MFKIT_TEST_DATA_DIR, file = dir + "/" + stem + "_v1.mfk";
  ASSERT_TRUE(std::filesystem::exists(file))
      << "no golden file for " << GetParam() << ": run python3 tests/golden/make_golden.py " << GetParam();
  nlohmann::json expected = nlohmann::json::parse(read_file(dir + "/" + stem + "_v1.json"));
  auto model = load_model(file);
  EXPECT_EQ(model->type(), GetParam());
  auto close = [](float a, float b) { return std::fabs(a - b) <= 1e-5f * std::max(1.0f, std::fabs(b)); };
  for (const auto& row : expected["predictions"]) {
    int32_t u = model->user_ids()->at(row[0].get<std::string>(), "user");
    int32_t i = model->item_ids()->at(row[1].get<std::string>(), "item");
    EXPECT_PRED2(close, model->predict_one(u, i), row[2].get<float>()) << row;
  }
  for (const auto& rec : expected.value("recommend", nlohmann::json::array())) {
    RecommendOptions o;
    o.k = static_cast<int>(rec["items"].size());
    auto got = recommend(*model, {model->user_ids()->at(rec["user"].get<std::string>(), "user")}, o, Context{1, 1});
    ASSERT_EQ(got.size(), 1u);
    ASSERT_EQ(got[0].size(), rec["items"].size());
    for (size_t r = 0; r < got[0].size(); ++r) {
      EXPECT_EQ(model->item_ids()->name(got[0][r].index), rec["items"][r]["item"].get<std::string>()) << rec;
      EXPECT_PRED2(close, got[0][r].score, rec["items"][r]["score"].get<float>()) << rec;
    }
  }
}

TEST_P(Conformance, LearnsFromHeldOutData) {
  auto data = synthetic_ratings();
  Split s = random_split(data, 0.9, 1);
  auto m = make();
  m->fit(s.train, {Context{2, 1}, nullptr, nullptr});
  if (m->implicit()) {
    // Ranking: held-out items must rank above chance among the unseen ones. In the synthetic
    // data which cells are observed depends on item popularity only, so that is all there is.
    double a = evaluate_ranking(*m, s.train, s.test, 10, Context{2, 1})["auc"];
    EXPECT_GT(a, 0.6);
    return;
  }
  double mean = s.train.mean_value();
  std::vector<float> base(s.test.nnz(), static_cast<float>(mean));
  double base_rmse = rmse(base, s.test.by_user().values);
  double r = evaluate_rating(*m, s.test)["rmse"];
  EXPECT_LT(r, 0.9 * base_rmse) << "model rmse " << r << " vs mean " << base_rmse;
}

TEST_P(Conformance, CheckerboardPreferencesAreLearned) {
  // Even users like even items and dislike odd ones, and vice versa. Rating models see 5 and 1
  // stars; implicit models see only the liked cells.
  if (GetParam() == "popularity") GTEST_SKIP() << "popularity is the same for every user by design";
  auto m = make();
  // Held-out cells are drawn at random: a regular pattern would itself be low-rank and learnable.
  std::mt19937 rng(4);
  std::vector<std::vector<char>> held(40, std::vector<char>(30));
  for (auto& row : held)
    for (auto& h : row) h = rng() % 4 == 0;
  std::vector<std::tuple<std::string, std::string, float>> t;
  for (int u = 0; u < 40; ++u)
    for (int i = 0; i < 30; ++i)
      if (!held[u][i]) {
        bool liked = (u + i) % 2 == 0;
        if (m->implicit() && !liked) continue;
        t.push_back({std::to_string(u), std::to_string(i), liked ? 5.0f : 1.0f});
      }
  m->fit(test::make_matrix(t), {Context{1, 3}, nullptr, nullptr});
  int right = 0, total = 0;
  for (int u = 0; u < 40; ++u) {
    int32_t uu = m->user_ids()->at(std::to_string(u), "u");
    for (int i = 0; i < 30; ++i) {
      if (!held[u][i]) continue;
      int32_t ii = m->item_ids()->find(std::to_string(i));
      if (ii < 0) continue;
      float p = m->predict_one(uu, ii);
      if (m->implicit()) {
        // Compare with an unseen cell of the opposite kind for the same user.
        int j = (i + 1) % 30;
        int32_t jj = m->item_ids()->find(std::to_string(j));
        if (jj < 0) continue;
        float q = m->predict_one(uu, jj);
        right += (u + i) % 2 == 0 ? p > q : p < q;
      } else {
        right += ((u + i) % 2 ? p < 3 : p > 3);
      }
      ++total;
    }
  }
  EXPECT_GT(right, 0.9 * total) << right << " of " << total;
}

TEST_P(Conformance, SameSeedOneThreadGivesIdenticalModels) {
  auto data = synthetic_ratings();
  auto a = make(), b = make();
  a->fit(data, {Context{1, 5}, nullptr, nullptr});
  b->fit(data, {Context{1, 5}, nullptr, nullptr});
  std::vector<int32_t> users(data.n_users());
  for (int32_t u = 0; u < data.n_users(); ++u) users[u] = u;
  std::vector<float> sa(users.size() * data.n_items()), sb(sa.size());
  a->score(users.data(), users.size(), sa.data());
  b->score(users.data(), users.size(), sb.data());
  EXPECT_EQ(sa, sb);
}

TEST_P(Conformance, SaveAndLoadGiveTheSamePredictions) {
  test::TempDir d;
  auto data = synthetic_ratings();
  auto m = make();
  m->fit(data, {Context{2, 1}, nullptr, nullptr});
  save_model(*m, d.path("m.mfk"), {{"k", 1}});
  nlohmann::json meta;
  auto l = load_model(d.path("m.mfk"), &meta);
  EXPECT_EQ(meta["k"], 1);
  EXPECT_EQ(l->type(), m->type());
  EXPECT_EQ(l->params(), m->params());
  Coo c = data.to_coo();
  std::vector<float> pa(c.size()), pb(c.size());
  m->predict(c.users.data(), c.items.data(), c.size(), pa.data());
  l->predict(c.users.data(), c.items.data(), c.size(), pb.data());
  EXPECT_EQ(pa, pb);
  EXPECT_EQ(l->seen().indices, m->seen().indices);
}

TEST_P(Conformance, CallbackCanStopTrainingAndSeesValidation) {
  auto data = synthetic_ratings();
  auto [train, valid] = carve_validation(data, 0.1, 1);
  auto m = make();
  int calls = 0;
  FitOptions o{Context{1, 1}, &valid, [&](const EpochInfo& e) {
                 ++calls;
                 EXPECT_EQ(e.valid_rmse.has_value(), !m->implicit());  // rating models report RMSE
                 EXPECT_TRUE(std::isfinite(e.train_loss));
                 if (!e.has_train_loss) {
                   EXPECT_EQ(e.train_loss, 0.0);  // implicit-als unless compute_loss
                 }
                 return e.epoch < 2;
               }};
  m->fit(train, o);
  EXPECT_EQ(calls, iterative() ? 2 : 1);
}

TEST_P(Conformance, UnknownIdsFallBackAndRecommendFiltersSeen) {
  auto data = synthetic_ratings();
  auto m = make();
  m->fit(data, {Context{1, 1}, nullptr, nullptr});
  EXPECT_TRUE(std::isfinite(m->predict_one(-1, 0)));
  EXPECT_TRUE(std::isfinite(m->predict_one(0, -1)));
  RecommendOptions o;
  o.k = 5;
  auto recs = recommend(*m, {0, 1, 2}, o, Context{2, 1});
  for (int32_t u = 0; u < 3; ++u) {
    ASSERT_EQ(recs[u].size(), 5u);
    for (const Scored& s : recs[u]) {
      const Csr& seen = m->seen();
      EXPECT_FALSE(std::binary_search(seen.indices.begin() + seen.indptr[u], seen.indices.begin() + seen.indptr[u + 1],
                                      s.index));
    }
  }
  EXPECT_THROW(recommend(*m, {-1}, o), NotFoundError);
  EXPECT_THROW(m->set_params({{"no_such_param", 1}}), ParamError);
}

TEST_P(Conformance, FoldInOfATrainingUserAgreesWithItsTrainedScores) {
  auto data = synthetic_ratings();
  auto m = make();
  m->fit(data, {Context{1, 1}, nullptr, nullptr});
  const Csr& c = data.by_user();
  const int32_t u = 5;
  std::vector<int32_t> items(c.indices.begin() + c.indptr[u], c.indices.begin() + c.indptr[u + 1]);
  std::vector<float> values(c.values.begin() + c.indptr[u], c.values.begin() + c.indptr[u + 1]);
  std::vector<float> folded(m->n_items()), trained(m->n_items());
  try {
    m->score_new_user(items, values, folded.data());
  } catch (const Error&) {
    GTEST_SKIP() << GetParam() << " does not fold in";
  }
  m->score(&u, 1, trained.data());
  double ma = 0, mb = 0, sab = 0, saa = 0, sbb = 0;
  for (int32_t i = 0; i < m->n_items(); ++i) ma += folded[i], mb += trained[i];
  ma /= m->n_items();
  mb /= m->n_items();
  for (int32_t i = 0; i < m->n_items(); ++i) {
    sab += (folded[i] - ma) * (trained[i] - mb);
    saa += (folded[i] - ma) * (folded[i] - ma);
    sbb += (trained[i] - mb) * (trained[i] - mb);
  }
  EXPECT_GT(sab / std::sqrt(saa * sbb), 0.8);  // the same user, solved again, scores alike
}

TEST_P(Conformance, UpdateUsersStoresTheFoldInAndAddsUsers) {
  test::TempDir d;
  auto data = synthetic_ratings();
  auto m = make();
  m->fit(data, {Context{1, 1}, nullptr, nullptr});
  const Csr& c = data.by_user();
  const int32_t n = m->n_users(), src = 7;
  std::vector<int32_t> items(c.indices.begin() + c.indptr[src], c.indices.begin() + c.indptr[src + 1]);
  std::vector<float> values(c.values.begin() + c.indptr[src], c.values.begin() + c.indptr[src + 1]);
  std::vector<float> expected;
  try {
    expected = m->fold_in_user(items, values);
  } catch (const Error&) {
    EXPECT_THROW(m->update_users({5}, Csr{{0, 0}, {}, {}, {}}), Error);
    EXPECT_EQ(m->n_users(), n);
    GTEST_SKIP() << GetParam() << " does not fold in";
  }
  // User 5 takes user 7's row; user n + 1 is added with it too, and n between them with none.
  const int64_t len = static_cast<int64_t>(items.size());
  Csr rows{{0, len, 2 * len}, items, values, {}};
  rows.indices.insert(rows.indices.end(), items.begin(), items.end());
  rows.values.insert(rows.values.end(), values.begin(), values.end());
  const Csr bad_item{{0, 1}, {m->n_items()}, {1.0f}, {}};
  EXPECT_THROW(m->update_users({5}, bad_item), NotFoundError);
  EXPECT_THROW(m->update_users({-1}, Csr{{0, 0}, {}, {}, {}}), NotFoundError);
  EXPECT_THROW(m->update_users({5, 6}, Csr{{0, 0}, {}, {}, {}}), ParamError);
  EXPECT_EQ(m->n_users(), n);  // nothing changed
  m->update_users({5, n + 1}, rows, {"new-a", "new-b"}, Context{2, 1});
  ASSERT_EQ(m->n_users(), n + 2);
  EXPECT_EQ(m->user_ids()->name(n + 1), "new-b");
  EXPECT_EQ(m->user_ids()->find("new-a"), n);
  for (int32_t u : {5, n + 1}) {
    std::vector<float> got = m->user_vector(u);
    ASSERT_EQ(got.size(), expected.size());
    for (size_t j = 0; j < got.size(); ++j) EXPECT_NEAR(got[j], expected[j], 1e-4) << "user " << u;
    EXPECT_EQ(std::vector<int32_t>(m->seen().indices.begin() + m->seen().indptr[u],
                                   m->seen().indices.begin() + m->seen().indptr[u + 1]),
              items);
  }
  for (float v : m->user_vector(n)) EXPECT_EQ(v, 0.0f);
  EXPECT_EQ(m->seen().row_size(n), 0);
  EXPECT_EQ(m->seen().row_size(src), len);  // the others keep theirs
  RecommendOptions o;
  o.k = 3;
  auto recs = recommend(*m, {n + 1}, o);
  EXPECT_EQ(recs[0].size(), 3u);
  for (const Scored& s : recs[0]) EXPECT_FALSE(std::binary_search(items.begin(), items.end(), s.index));
  save_model(*m, d.path("m.mfk"), {});
  auto l = load_model(d.path("m.mfk"), nullptr);
  ASSERT_EQ(l->n_users(), n + 2);
  EXPECT_EQ(l->predict_one(n + 1, 3), m->predict_one(n + 1, 3));
  EXPECT_EQ(l->predict_one(5, 3), m->predict_one(5, 3));
}

INSTANTIATE_TEST_SUITE_P(AllModels, Conformance, ::testing::ValuesIn(model_names()), [](const auto& info) {
  std::string n = info.param;
  for (char& ch : n)
    if (ch == '-') ch = '_';
  return n;
});

}  // namespace
}  // namespace mfkit
