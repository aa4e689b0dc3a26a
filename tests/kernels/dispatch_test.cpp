#include "kernels/dispatch.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "mfkit/error.h"
#include "mfkit/recommend.h"
#include "mfkit/registry.h"
#include "test_util.h"

namespace mfkit {
namespace {

// Puts the kernels in use back as they were when the test ends.
struct KeepKernels {
  std::string isa = kernel_info().isa;
  ~KeepKernels() { use_kernels(isa); }
};

TEST(Kernels, ChoiceIsReportedAndBaselineAlwaysRuns) {
  const KernelInfo info = kernel_info();
  ASSERT_FALSE(info.available.empty());
  EXPECT_EQ(info.available.front(), "baseline");
  EXPECT_NE(std::find(info.available.begin(), info.available.end(), info.isa), info.available.end());
  EXPECT_NE(describe(info).find(info.isa), std::string::npos);
  EXPECT_EQ(kernels().isa, info.isa);
}

TEST(Kernels, UnknownOrUnavailableSetsAreRefusedByName) {
  KeepKernels keep;
  try {
    use_kernels("avx1024");
    FAIL() << "an unknown instruction set was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("avx1024"), std::string::npos) << e.what();
  }
  const auto avail = kernel_info().available;
  for (const std::string isa : {"baseline", "avx2", "avx512"}) {
    if (std::find(avail.begin(), avail.end(), isa) != avail.end()) {
      use_kernels(isa);
      EXPECT_EQ(std::string(kernels().isa), isa);
    } else {
      EXPECT_THROW(use_kernels(isa), Error) << isa;
    }
  }
}

// A 70 x 50 rating matrix, about 30% observed, ratings 1-5 from a rank-3 model plus noise.
Interactions ratings() {
  std::mt19937 rng(7);
  std::normal_distribution<float> g(0.0f, 1.0f);
  std::vector<float> u(70 * 3), v(50 * 3);
  for (float& x : u) x = g(rng);
  for (float& x : v) x = g(rng);
  std::vector<std::tuple<std::string, std::string, float>> t;
  std::uniform_real_distribution<float> coin(0.0f, 1.0f);
  for (int a = 0; a < 70; ++a)
    for (int b = 0; b < 50; ++b) {
      if (coin(rng) > 0.3f) continue;
      float r = 3.0f + 0.6f * (u[a * 3] * v[b * 3] + u[a * 3 + 1] * v[b * 3 + 1] + u[a * 3 + 2] * v[b * 3 + 2]) +
                0.3f * g(rng);
      t.emplace_back("u" + std::to_string(a), "i" + std::to_string(b), std::clamp(std::round(r), 1.0f, 5.0f));
    }
  return test::make_matrix(t);
}

struct Answers {
  std::vector<float> scores;             // every (user, item) cell
  std::vector<std::vector<Scored>> top;  // top-5 of every user, seen items filtered
};

Answers fit_and_answer(const std::string& model, const nlohmann::json& params, const Interactions& data) {
  auto m = create_model(model);
  m->set_params(params);
  FitOptions opt;
  opt.ctx = Context{1, 3};
  m->fit(data, opt);
  Answers a;
  std::vector<int32_t> us, is;
  for (int32_t x = 0; x < data.n_users(); ++x)
    for (int32_t y = 0; y < data.n_items(); ++y) {
      us.push_back(x);
      is.push_back(y);
    }
  a.scores.resize(us.size());
  m->predict(us.data(), is.data(), us.size(), a.scores.data());
  std::vector<int32_t> all(static_cast<size_t>(data.n_users()));
  for (int32_t x = 0; x < data.n_users(); ++x) all[static_cast<size_t>(x)] = x;
  RecommendOptions o;
  o.k = 5;
  a.top = recommend(*m, all, o);
  return a;
}

// Every instruction set the CPU runs gives the baseline's models and answers, within float
// rounding: the same sums in another order (wider registers, fused multiply-adds).
TEST(Kernels, EveryPathFitsAndAnswersAsTheBaseline) {
  KeepKernels keep;
  const Interactions data = ratings();
  const std::vector<std::tuple<std::string, nlohmann::json, float>> cases = {
      {"biased-mf", {{"factors", 20}, {"epochs", 4}}, 2e-3f},
      {"biased-mf", {{"factors", 64}, {"epochs", 4}, {"adaptive", false}}, 2e-3f},
      {"implicit-als", {{"factors", 24}, {"iterations", 3}}, 2e-3f},
      {"implicit-als", {{"factors", 16}, {"iterations", 3}, {"solver", "cholesky"}}, 2e-3f},
      {"als", {{"factors", 12}, {"iterations", 3}}, 2e-3f},
      {"bpr", {{"factors", 16}, {"epochs", 3}}, 2e-3f},
  };
  for (const auto& [model, params, tol] : cases) {
    use_kernels("baseline");
    const Answers base = fit_and_answer(model, params, data);
    for (const std::string& isa : kernel_info().available) {
      if (isa == "baseline") continue;
      use_kernels(isa);
      const Answers got = fit_and_answer(model, params, data);
      SCOPED_TRACE(model + " " + params.dump() + " on " + isa);
      float scale = 0, worst = 0;
      for (size_t c = 0; c < base.scores.size(); ++c) {
        scale = std::max(scale, std::abs(base.scores[c]));
        worst = std::max(worst, std::abs(base.scores[c] - got.scores[c]));
      }
      EXPECT_LE(worst, tol * std::max(scale, 1.0f));
      ASSERT_EQ(got.top.size(), base.top.size());
      for (size_t u = 0; u < base.top.size(); ++u) {
        ASSERT_EQ(got.top[u].size(), base.top[u].size());
        for (size_t r = 0; r < base.top[u].size(); ++r)  // the same scores in order (ties may swap items)
          EXPECT_NEAR(got.top[u][r].score, base.top[u][r].score, tol * std::max(scale, 1.0f)) << "user " << u;
      }
    }
  }
}

}  // namespace
}  // namespace mfkit
