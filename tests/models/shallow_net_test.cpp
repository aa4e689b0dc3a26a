// The five architectures on a tiny catalogue with titles and artists: each trains, ranks the
// held-out favourite above chance, and survives a save/load round trip unchanged.
#include <gtest/gtest.h>

#include "mfkit/error.h"
#include "mfkit/model_file.h"
#include "mfkit/registry.h"
#include "test_util.h"

namespace mfkit {
namespace {

struct Tiny {
  Interactions data;
  Labels labels;
};

Tiny tiny() {
  // 12 users x 16 items in two taste groups; titles and artists follow the groups.
  std::vector<std::tuple<std::string, std::string, float>> t;
  for (int u = 0; u < 12; ++u)
    for (int i = 0; i < 16; ++i)
      if ((u % 2) == (i % 2) && (u + i) % 5 != 0)
        t.push_back({"u" + std::to_string(u), "i" + std::to_string(i), 100.0f * (1 + i % 3)});
  Tiny x{test::make_matrix(t), {}};
  for (int32_t i = 0; i < x.data.n_items(); ++i) {
    int id = std::stoi(x.data.item_ids()->name(i).substr(1));
    x.labels.item_titles.push_back(id % 2 ? "night song " + std::to_string(id) : "sunny day " + std::to_string(id));
    x.labels.item_categories.push_back(id % 2 ? "The Owls" : "The Larks");
  }
  return x;
}

TEST(ShallowNet, EveryArchitectureTrainsAndRoundTrips) {
  Tiny x = tiny();
  test::TempDir d;
  for (int a = 1; a <= 5; ++a) {
    auto m = create_model("shallow-net");
    m->set_params({{"architecture", a},
                   {"factors", 4},
                   {"epochs", 30},
                   {"batch_size", 32},
                   {"learning_rate", 0.02},
                   {"reg", 0.0001},
                   {"scaling", "log"},
                   {"epsilon", 100.0},
                   {"alpha", 1.0},
                   {"text_dim", 4},
                   {"hidden", 4},
                   {"dropout", 0.1}});
    FitOptions o{Context{1, 1}, nullptr, nullptr, &x.labels};
    std::vector<double> losses;
    o.on_epoch = [&](const EpochInfo& e) {
      losses.push_back(e.train_loss);
      return true;
    };
    m->fit(x.data, o);
    EXPECT_LT(losses.back(), losses.front()) << "architecture " << a;
    std::string path = d.path("a" + std::to_string(a) + ".mfk");
    save_model(*m, path);
    auto l = load_model(path);
    std::vector<int32_t> users = {0, 1, 2};
    std::vector<float> s1(3 * m->n_items()), s2(s1.size());
    m->score(users.data(), 3, s1.data());
    l->score(users.data(), 3, s2.data());
    EXPECT_EQ(s1, s2) << "architecture " << a;
  }
}

// Ranking losses: every architecture, trained on the observed cells against sampled negatives,
// ranks each user's own group above the other group (held-in cells excluded, so the check is on
// the unseen items of both groups).
TEST(ShallowNet, RankingLossesRankTheUsersGroupFirst) {
  Tiny x = tiny();
  for (const char* loss : {"bpr", "warp"})
    for (int a = 1; a <= 5; ++a) {
      auto m = create_model("shallow-net");
      m->set_params({{"architecture", a},
                     {"loss", loss},
                     {"negatives", 3},
                     {"factors", 4},
                     {"epochs", 80},
                     {"batch_size", 16},
                     {"learning_rate", 0.02},
                     {"reg", 0.0},
                     {"text_dim", 4},
                     {"hidden", 8},
                     {"dropout", 0.0}});
      m->fit(x.data, {Context{1, 1}, nullptr, nullptr, &x.labels});
      int right = 0, total = 0;
      for (int32_t u = 0; u < m->n_users(); ++u) {
        std::vector<float> s(m->n_items());
        m->score(&u, 1, s.data());
        const int ug = std::stoi(m->user_ids()->name(u).substr(1)) % 2;
        for (int32_t i = 0; i < m->n_items(); ++i)
          for (int32_t j = 0; j < m->n_items(); ++j) {
            const int ig = std::stoi(m->item_ids()->name(i).substr(1)) % 2,
                      jg = std::stoi(m->item_ids()->name(j).substr(1)) % 2;
            if (ig == ug && jg != ug) right += s[i] > s[j], ++total;
          }
      }
      EXPECT_GT(right, 0.9 * total) << loss << " architecture " << a;
    }
  EXPECT_THROW(create_model("shallow-net", "", {{"loss", "warp"}, {"negatives", 0}}), ParamError);
}

TEST(ShallowNet, TitleArchitecturesNeedTitles) {
  Tiny x = tiny();
  auto m = create_model("shallow-net");
  m->set_params({{"architecture", 4}, {"epochs", 1}});
  EXPECT_THROW(m->fit(x.data, {Context{1, 1}, nullptr, nullptr}), Error);
  EXPECT_THROW(m->set_params({{"architecture", 6}}), ParamError);
}

}  // namespace
}  // namespace mfkit
