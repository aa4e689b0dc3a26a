// meta-mf: episodes with disjoint parts, gradients through the unrolled steps, permutation
// equivariance, learning on synthetic matrices, model files, and imputation from the CLI.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <set>

#include "mfkit/data.h"
#include "mfkit/error.h"
#include "mfkit/meta.h"
#include "mfkit/model_file.h"
#include "test_util.h"

namespace mfkit {
namespace {

Interactions synthetic() {
  SyntheticSpec s;
  s.users = 300;
  s.items = 200;
  s.density = 0.25;
  s.rank = 2;
  s.noise = 0.3;
  return synthetic_ratings(s);
}

EpisodeSpec small_spec() {
  EpisodeSpec s;
  s.min_rows = s.min_cols = 10;
  s.max_rows = s.max_cols = 25;
  return s;
}

Episode tiny_episode() {
  Episode e;
  e.n_rows = 5, e.n_cols = 4;
  for (int r = 0; r < 5; ++r)
    for (int c = 0; c < 4; ++c) {
      float v = 1.0f + static_cast<float>((r * 3 + c * 2) % 5);
      if ((r + c) % 3 == 0)
        e.q_rows.push_back(r), e.q_cols.push_back(c), e.q_vals.push_back(v);
      else
        e.s_rows.push_back(r), e.s_cols.push_back(c), e.s_vals.push_back(v);
    }
  return e;
}

TEST(MetaEpisodes, PartsAreDisjointAndEpisodesStayInTheirPart) {
  Interactions data = synthetic();
  EpisodeSource src(data, 3);
  std::set<int32_t> users[3], items[3];
  for (int p = 0; p < 3; ++p) {
    auto part = static_cast<EpisodeSource::Part>(p);
    users[p] = {src.users(part).begin(), src.users(part).end()};
    items[p] = {src.items(part).begin(), src.items(part).end()};
  }
  for (int a = 0; a < 3; ++a)
    for (int b = a + 1; b < 3; ++b) {
      for (int32_t u : users[a]) EXPECT_EQ(users[b].count(u), 0u);
      for (int32_t i : items[a]) EXPECT_EQ(items[b].count(i), 0u);
    }
  EXPECT_EQ(users[0].size() + users[1].size() + users[2].size(), static_cast<size_t>(data.n_users()));
  std::mt19937_64 rng(1);
  for (int p = 0; p < 3; ++p) {
    Episode e = src.sample(static_cast<EpisodeSource::Part>(p), small_spec(), rng, 0.3);
    ASSERT_GT(e.n_rows, 0);
    for (int32_t u : e.row_ids) EXPECT_EQ(users[p].count(u), 1u);
    for (int32_t i : e.col_ids) EXPECT_EQ(items[p].count(i), 1u);
    double ratio = double(e.s_vals.size()) / double(e.s_vals.size() + e.q_vals.size());
    EXPECT_NEAR(ratio, 0.3, 0.03);
    for (size_t k = 0; k < e.s_rows.size(); ++k) {
      EXPECT_LT(e.s_rows[k], e.n_rows);
      EXPECT_LT(e.s_cols[k], e.n_cols);
    }
  }
}

TEST(MetaEpisodes, SeveralDatasetsAreDrawnFromInTurn) {
  Interactions a = synthetic(), b = synthetic_ratings();
  EpisodeSource src({&a, &b}, 1);
  ASSERT_EQ(src.datasets(), 2u);
  std::mt19937_64 rng(2);
  int from[2] = {0, 0};
  for (int k = 0; k < 30; ++k) {
    Episode e = src.sample(EpisodeSource::kTrain, small_spec(), rng);
    ++from[e.dataset];
    const auto& users = src.users(EpisodeSource::kTrain, e.dataset);
    for (int32_t u : e.row_ids) EXPECT_NE(std::find(users.begin(), users.end(), u), users.end());
  }
  EXPECT_GT(from[0], 5);
  EXPECT_GT(from[1], 5);
}

void check_gradient(MetaMfParams p) {
  p.factors = 2, p.layers = 2, p.width = 4, p.steps = 3;
  MetaMf m(p);
  Episode e = tiny_episode();
  std::vector<double> grad;
  double loss = m.loss_and_grad(e, &grad);
  ASSERT_TRUE(std::isfinite(loss));
  std::vector<double> theta = m.get_flat();
  ASSERT_EQ(theta.size(), grad.size());
  std::mt19937 rng(5);
  int checked = 0;
  for (int n = 0; n < 40; ++n) {
    size_t k = std::uniform_int_distribution<size_t>(0, theta.size() - 1)(rng);
    const double h = 1e-6;
    auto at = [&](double delta) {
      std::vector<double> t = theta;
      t[k] += delta;
      m.set_flat(t);
      return m.loss_and_grad(e, nullptr);
    };
    double fd = (at(h) - at(-h)) / (2 * h);
    EXPECT_NEAR(grad[k], fd, 1e-6 + 1e-4 * std::fabs(fd)) << "parameter " << k;
    ++checked;
  }
  m.set_flat(theta);
  EXPECT_EQ(checked, 40);
  // The gradient is not trivially zero: the check would pass vacuously otherwise.
  double norm = 0;
  for (double g : grad) norm += g * g;
  EXPECT_GT(norm, 1e-8);
}

TEST(MetaMfGradient, AgreesWithFiniteDifferencesThroughTheUnrolledSteps) { check_gradient({}); }

TEST(MetaMfGradient, MamlVariantAgreesWithFiniteDifferences) {
  MetaMfParams p;
  p.encoder = false;
  check_gradient(p);
}

TEST(MetaMf, PredictionsFollowAPermutationOfRowsAndColumns) {
  MetaMfParams p;
  p.width = 8;
  MetaMf m(p);
  Episode e = tiny_episode();
  std::vector<int32_t> pr = {3, 0, 4, 1, 2}, pc = {2, 3, 1, 0};  // new index of each old row/column
  Episode f = e;
  for (auto& r : f.s_rows) r = pr[r];
  for (auto& r : f.q_rows) r = pr[r];
  for (auto& c : f.s_cols) c = pc[c];
  for (auto& c : f.q_cols) c = pc[c];
  std::reverse(f.s_rows.begin(), f.s_rows.end());  // entry order must not matter either
  std::reverse(f.s_cols.begin(), f.s_cols.end());
  std::reverse(f.s_vals.begin(), f.s_vals.end());
  auto a = m.predict(e), b = m.predict(f);
  ASSERT_EQ(a.size(), b.size());
  for (size_t k = 0; k < a.size(); ++k) EXPECT_NEAR(a[k], b[k], 1e-5);
}

TEST(MetaMf, MetaTrainingBeatsTheItemMeanOnUnseenSyntheticMatrices) {
  Interactions data = synthetic();
  EpisodeSource src(data, 2);
  MetaMfParams p;
  p.max_steps = 400;
  p.eval_every = 100;
  p.valid_episodes = 16;
  EpisodeSpec spec;
  spec.min_rows = spec.min_cols = 20;
  spec.max_rows = spec.max_cols = 40;
  spec.observed = 0.5;
  MetaMf m(p);  // initialised as meta_train initialises with seed 1
  double before_valid = 0;
  {
    std::mt19937_64 rng(9);
    for (int k = 0; k < 30; ++k) before_valid += m.rmse(src.sample(EpisodeSource::kTest, spec, rng));
  }
  m.meta_train(src, spec, Context{1, 1});
  std::mt19937_64 rng(9);
  double meta = 0, item = 0;
  for (int k = 0; k < 30; ++k) {
    Episode e = src.sample(EpisodeSource::kTest, spec, rng);
    meta += m.rmse(e);
    item += query_rmse(e, baseline_mean(e, true));
  }
  EXPECT_LT(meta, item) << "meta-mf " << meta / 30 << " vs item mean " << item / 30;
  EXPECT_LT(meta, 0.985 * before_valid) << "meta-trained " << meta / 30 << " vs untrained " << before_valid / 30;
}

TEST(MetaMf, ModelFilesRoundTripAndBadFilesAreRefused) {
  test::TempDir d;
  MetaMfParams p;
  p.width = 6;
  MetaMf m(p);
  std::string path = d.path("meta.mfk");
  m.save(path, {{"dataset", "tiny"}});
  nlohmann::json meta;
  MetaMf back = MetaMf::load(path, &meta);
  EXPECT_EQ(meta["dataset"], "tiny");
  Episode e = tiny_episode();
  EXPECT_EQ(m.predict(e), back.predict(e));
  EXPECT_EQ(back.params().width, 6);
  std::string cut = d.path("cut.mfk");
  std::filesystem::copy_file(path, cut);
  std::filesystem::resize_file(cut, std::filesystem::file_size(cut) - 20);
  EXPECT_THROW(MetaMf::load(cut), ModelFileError);
  try {
    load_model(path);
    FAIL() << "a meta-mf file is not a user/item model";
  } catch (const ModelFileError& e) {
    EXPECT_NE(std::string(e.what()).find("impute"), std::string::npos) << e.what();
  }
}

TEST(MetaMf, Imputes200x200InUnderASecond) {
  MetaMf m;
  Episode e;
  e.n_rows = e.n_cols = 200;
  std::mt19937 rng(3);
  for (int r = 0; r < 200; ++r)
    for (int c = 0; c < 200; ++c)
      if (rng() % 10 < 2) e.s_rows.push_back(r), e.s_cols.push_back(c), e.s_vals.push_back(1.0f + rng() % 5);
  auto t0 = std::chrono::steady_clock::now();
  auto full = m.impute(e);
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(full.size(), 40000u);
  for (float v : full) ASSERT_TRUE(v >= 1.0f && v <= 5.0f);
  EXPECT_LT(s, 1.0);
}

TEST(MetaMfCli, MetaTrainThenImputeANewMatrix) {
  test::TempDir d;
  std::string s;
  for (int u = 0; u < 60; ++u)
    for (int i = 0; i < 40; ++i)
      if ((u * 7 + i * 3) % 4 != 0)
        s += std::to_string(u) + "," + std::to_string(i) + "," + std::to_string(1 + (u % 3 + i % 3) % 5) + "\n";
  std::string train = d.file("train.csv", s);
  std::string model = d.path("meta.mfk");
  std::string cmd = std::string(MFKIT_CLI_PATH) + " meta-train --data " + train +
                    " --format user,item,rating --set max_steps=20 eval_every=10 valid_episodes=4 --episode min_rows=5 "
                    "max_rows=10 min_cols=5 max_cols=10 --test-episodes 3 --out " +
                    model + " --quiet > /dev/null 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  std::string fresh = d.file("new.csv", "a,x,5\na,y,3\nb,x,4\nc,z,1\nc,y,2\n");
  std::string out = d.path("filled.csv");
  cmd = std::string(MFKIT_CLI_PATH) + " impute -f " + model + " --data " + fresh + " --format user,item,rating --out " +
        out + " --quiet";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  std::ifstream in(out);
  std::string line;
  int lines = 0;
  std::getline(in, line);
  EXPECT_EQ(line, "user,item,prediction");
  while (std::getline(in, line)) ++lines;
  EXPECT_EQ(lines, 9 - 5);  // the unobserved cells of a 3 x 3 matrix
  // A rating model file is not a meta-mf model: a clear error, exit 1.
  std::string bad = std::string(MFKIT_CLI_PATH) + " impute -f " + fresh + " --data " + fresh +
                    " --format user,item,rating > /dev/null 2>&1";
  EXPECT_EQ(WEXITSTATUS(std::system(bad.c_str())), 1);
}

}  // namespace
}  // namespace mfkit
