#include "kernels/sgd.h"

#include <gtest/gtest.h>

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "mfkit/data.h"
#include "models/factors.h"
#include "test_util.h"

namespace mfkit {
namespace {

TEST(SgdBlock, PlainUpdateMatchesHandComputation) {
  auto m = test::make_matrix({{"u", "i", 4.0f}});
  Factors f;
  f.init(m, 2, 0.0, 1, false);
  f.P = {1.0f, 2.0f};
  f.Q = {0.5f, -1.0f};
  f.mu = 3.0f;
  SgdState s;
  to_sgd_state(f, s);
  SgdConfig c;
  c.lr = 0.1f;
  c.reg = 0.2f;
  c.reg_bias = 0.0f;
  c.adaptive = false;
  Rating r{0, 0, 4.0f};
  double sse = sgd_block(&r, &r + 1, s, c);
  // prediction 3 + 0.5 - 2 = 1.5, error 2.5
  EXPECT_NEAR(sse, 6.25, 1e-6);
  from_sgd_state(s, f);
  EXPECT_NEAR(f.P[0], 1.0f + 0.1f * (2.5f * 0.5f - 0.2f * 1.0f), 1e-6);
  EXPECT_NEAR(f.P[1], 2.0f + 0.1f * (2.5f * -1.0f - 0.2f * 2.0f), 1e-6);
  EXPECT_NEAR(f.Q[0], 0.5f + 0.1f * (2.5f * 1.0f - 0.2f * 0.5f), 1e-6);
  EXPECT_NEAR(f.bu[0], 0.25f, 1e-6);
  EXPECT_NEAR(f.bi[0], 0.25f, 1e-6);
}

TEST(SgdBlock, AdaptiveRateShrinksAsGradientsAccumulate) {
  auto m = test::make_matrix({{"u", "i", 5.0f}});
  Factors f;
  f.init(m, 4, 0.1, 1, false);
  f.mu = 0;
  SgdState s;
  to_sgd_state(f, s);
  SgdConfig c;
  c.lr = 0.05f;
  Rating r{0, 0, 5.0f};
  double first = sgd_block(&r, &r + 1, s, c);
  EXPECT_GT(s.users[s.row.acc()], 1.0f);  // the accumulator grew
  double later = 0;
  for (int n = 0; n < 200; ++n) later = sgd_block(&r, &r + 1, s, c);
  EXPECT_LT(later, first);
}

// One rating at a time, in entry order, by the rule sgd_block implements (LIBMF's AdaGrad with
// the same reciprocal square root estimate).
void reference_step(const Rating& x, std::vector<float>& P, std::vector<float>& Q, std::vector<float>& bu,
                    std::vector<float>& bi, std::vector<float>& gp_acc, std::vector<float>& gq_acc,
                    std::vector<float>& gbu_acc, std::vector<float>& gbi_acc, int k, float mu, const SgdConfig& c) {
  auto rate = [&](float acc) { return c.lr * _mm_cvtss_f32(_mm_rsqrt_ss(_mm_set_ss(acc))); };
  float* p = P.data() + x.u * k;
  float* q = Q.data() + x.i * k;
  float dot = 0;
  for (int d = 0; d < k; ++d) dot += p[d] * q[d];
  const float e = x.r - (mu + bu[x.u] + bi[x.i] + dot);
  const float ep = rate(gp_acc[x.u]), eq = rate(gq_acc[x.i]);
  float gp2 = 0, gq2 = 0;
  for (int d = 0; d < k; ++d) {
    const float gp = c.reg * p[d] - e * q[d], gq = c.reg * q[d] - e * p[d];
    gp2 += gp * gp;
    gq2 += gq * gq;
    p[d] -= ep * gp;
    q[d] -= eq * gq;
  }
  gp_acc[x.u] += gp2 / k;
  gq_acc[x.i] += gq2 / k;
  const float gbu = c.reg_bias * bu[x.u] - e, gbi = c.reg_bias * bi[x.i] - e;
  bu[x.u] -= rate(gbu_acc[x.u]) * gbu;
  bi[x.i] -= rate(gbi_acc[x.i]) * gbi;
  gbu_acc[x.u] += gbu * gbu;
  gbi_acc[x.i] += gbi * gbi;
}

// The block runs its entries in interleaved runs of users, several at once; with every item
// rated once, any interleaving that keeps each user's order gives the sequential answer. Widths
// cover a padded tail (3, 37), exact vectors (16, 64) and the generic path (150 > 8 vectors).
TEST(SgdBlock, MatchesTheRuleAppliedOneRatingAtATimeAtEveryWidth) {
  for (int k : {3, 16, 37, 64, 150}) {
    const int nu = 23, per_user = 5, ni = nu * per_user;
    std::vector<std::tuple<std::string, std::string, float>> cells;
    std::mt19937 rng(k);
    std::uniform_real_distribution<float> val(1, 5);
    std::vector<Rating> block;
    std::vector<int> items(ni);
    std::iota(items.begin(), items.end(), 0);
    std::shuffle(items.begin(), items.end(), rng);
    for (int u = 0; u < nu; ++u)
      for (int j = 0; j < per_user; ++j) block.push_back({u, items[u * per_user + j], val(rng)});
    for (int i = 0; i < ni; ++i) cells.emplace_back("u" + std::to_string(i % nu), "i" + std::to_string(i), 3.0f);
    auto m = test::make_matrix(cells);
    ASSERT_EQ(m.n_users(), nu);
    ASSERT_EQ(m.n_items(), ni);
    Factors f;
    f.init(m, k, 0.3, 7, false);
    SgdState s;
    to_sgd_state(f, s);
    SgdConfig c;
    c.lr = 0.05f;
    std::vector<float> P = f.P, Q = f.Q, bu = f.bu, bi = f.bi;
    std::vector<float> gp(nu, 1.0f), gq(ni, 1.0f), gbu(nu, 1.0f), gbi(ni, 1.0f);
    for (int pass = 0; pass < 3; ++pass) {
      sgd_block(block.data(), block.data() + block.size(), s, c);
      for (const Rating& x : block) reference_step(x, P, Q, bu, bi, gp, gq, gbu, gbi, k, f.mu, c);
    }
    from_sgd_state(s, f);
    for (size_t e = 0; e < P.size(); ++e) ASSERT_NEAR(f.P[e], P[e], 1e-4f) << "k=" << k << " P[" << e << "]";
    for (size_t e = 0; e < Q.size(); ++e) ASSERT_NEAR(f.Q[e], Q[e], 1e-4f) << "k=" << k << " Q[" << e << "]";
    for (int u = 0; u < nu; ++u) ASSERT_NEAR(f.bu[u], bu[u], 1e-4f) << "k=" << k;
    for (int i = 0; i < ni; ++i) ASSERT_NEAR(f.bi[i], bi[i], 1e-4f) << "k=" << k;
    // The padding of every row stays zero.
    for (int32_t r = 0; r < nu + ni; ++r)
      for (int d = k; d < s.row.width; ++d) ASSERT_EQ(s.users[static_cast<size_t>(r) * s.row.stride + d], 0.0f);
  }
}

class FpsgShape : public ::testing::TestWithParam<std::pair<int, int>> {};

TEST_P(FpsgShape, EveryEntryLandsInExactlyOneBlockSortedByUser) {
  const auto [ub, ib] = GetParam();
  auto m = synthetic_ratings();
  FpsgGrid g = FpsgGrid::build(m, ub, ib, 3);
  ASSERT_EQ(g.block_start.size(), static_cast<size_t>(ub * ib + 1));
  EXPECT_EQ(static_cast<int64_t>(g.entries.size()), m.nnz());
  EXPECT_EQ(g.block_start.back(), m.nnz());
  double sum = 0;
  for (const auto& e : g.entries) sum += e.r * (e.u + 1) + e.i;
  Coo c = m.to_coo();
  double want = 0;
  for (size_t e = 0; e < c.size(); ++e) want += c.values[e] * (c.users[e] + 1) + c.items[e];
  EXPECT_DOUBLE_EQ(sum, want);
  // Within a block users ascend; a user is in one user band (b / ib) and an item in one item
  // band (b % ib), and every band is used.
  std::vector<int> band_of_user(m.n_users(), -1), band_of_item(m.n_items(), -1);
  std::vector<char> user_band_used(ub, 0), item_band_used(ib, 0);
  for (int b = 0; b < ub * ib; ++b)
    for (int64_t e = g.block_start[b]; e < g.block_start[b + 1]; ++e) {
      if (e > g.block_start[b]) {
        EXPECT_LE(g.entries[e - 1].u, g.entries[e].u);
      }
      int& bu = band_of_user[g.entries[e].u];
      int& bi = band_of_item[g.entries[e].i];
      if (bu < 0) bu = b / ib;
      if (bi < 0) bi = b % ib;
      EXPECT_EQ(bu, b / ib);
      EXPECT_EQ(bi, b % ib);
      user_band_used[b / ib] = item_band_used[b % ib] = 1;
    }
  EXPECT_EQ(std::count(user_band_used.begin(), user_band_used.end(), 1), ub);
  EXPECT_EQ(std::count(item_band_used.begin(), item_band_used.end(), 1), ib);
}

INSTANTIATE_TEST_SUITE_P(Grids, FpsgShape, ::testing::Values(std::pair{7, 7}, std::pair{9, 3}, std::pair{3, 8}));

TEST(FpsgGrid, IsTheSameGridWhateverTheNumberOfWorkers) {
  // Large enough (300k entries) for three workers; rows of uneven length.
  Csr c;
  c.indptr.push_back(0);
  std::mt19937 rng(5);
  const int32_t ni = 2000;
  for (int32_t u = 0; c.indptr.back() < 300000; ++u) {
    std::vector<int32_t> row(1 + rng() % 400);
    for (auto& i : row) i = static_cast<int32_t>(rng() % ni);
    std::sort(row.begin(), row.end());
    row.erase(std::unique(row.begin(), row.end()), row.end());
    for (int32_t i : row) {
      c.indices.push_back(i);
      c.values.push_back(static_cast<float>(u % 5 + i % 3));
    }
    c.indptr.push_back(static_cast<int64_t>(c.indices.size()));
  }
  FpsgGrid one = FpsgGrid::build(c, ni, 11, 5, 4, 1), three = FpsgGrid::build(c, ni, 11, 5, 4, 3);
  ASSERT_EQ(one.block_start, three.block_start);
  ASSERT_EQ(one.entries.size(), c.indices.size());
  for (size_t e = 0; e < one.entries.size(); ++e) {
    ASSERT_EQ(one.entries[e].u, three.entries[e].u) << e;
    ASSERT_EQ(one.entries[e].i, three.entries[e].i) << e;
    ASSERT_EQ(one.entries[e].r, three.entries[e].r) << e;
  }
}

TEST(SgdState, CopiesInAndOutOnSeveralThreads) {
  auto m = synthetic_ratings();
  Factors f;
  f.init(m, 20, 0.1, 4, false);
  for (size_t j = 0; j < f.bu.size(); ++j) f.bu[j] = 0.5f * j;
  for (size_t j = 0; j < f.bi.size(); ++j) f.bi[j] = -0.25f * j;
  SgdState s;
  to_sgd_state(f, s, 3);
  EXPECT_EQ(s.users[s.row.bias()], f.bu[0]);
  EXPECT_EQ(s.items[static_cast<size_t>(1) * s.row.stride + 2], f.Q[static_cast<size_t>(1) * f.k + 2]);
  Factors back = f;
  std::fill(back.P.begin(), back.P.end(), 0.0f);
  std::fill(back.Q.begin(), back.Q.end(), 0.0f);
  std::fill(back.bu.begin(), back.bu.end(), 0.0f);
  std::fill(back.bi.begin(), back.bi.end(), 0.0f);
  from_sgd_state(s, back, 3);
  EXPECT_EQ(back.P, f.P);
  EXPECT_EQ(back.Q, f.Q);
  EXPECT_EQ(back.bu, f.bu);
  EXPECT_EQ(back.bi, f.bi);
}

TEST(SgdEpoch, RunsEveryBlockOnceOnANarrowGrid) {
  // With a zero learning rate nothing moves, so an epoch's squared error is the initial state's
  // over every entry once: a block skipped or run twice would change it.
  auto m = synthetic_ratings();
  Factors f;
  f.init(m, 8, 0.3, 5, false);
  SgdState s;
  to_sgd_state(f, s, 2);
  SgdConfig c;
  c.lr = 0.0f;
  c.adaptive = false;
  Coo coo = m.to_coo();
  double want = 0;
  for (size_t e = 0; e < coo.size(); ++e) {
    const int32_t u = coo.users[e], i = coo.items[e];
    double p = f.mu + f.bu[u] + f.bi[i];
    for (int d = 0; d < f.k; ++d) p += f.P[static_cast<size_t>(u) * f.k + d] * f.Q[static_cast<size_t>(i) * f.k + d];
    want += (coo.values[e] - p) * (coo.values[e] - p);
  }
  for (auto [ub, ib] : {std::pair{9, 5}, std::pair{5, 11}})
    for (int threads : {1, 2}) {
      FpsgGrid g = FpsgGrid::build(m, ub, ib, 7);
      EXPECT_NEAR(run_sgd_epoch(g, s, c, threads, 3), want, 1e-6 * want) << ub << "x" << ib << ", " << threads;
    }
}

TEST(SgdEpoch, TwoThreadsConvergeLikeOne) {
  auto m = synthetic_ratings();
  double losses[2];
  for (int t = 1; t <= 2; ++t) {
    Factors f;
    f.init(m, 8, 0.05, 1, false);
    SgdState s;
    to_sgd_state(f, s);
    FpsgGrid g = FpsgGrid::build(m, 9, 5, 2);
    SgdConfig c;
    c.lr = 0.05f;
    double sse = 0;
    for (int ep = 0; ep < 10; ++ep) sse = run_sgd_epoch(g, s, c, t, ep);
    losses[t - 1] = std::sqrt(sse / m.nnz());
  }
  EXPECT_LT(losses[0], 0.9);
  EXPECT_NEAR(losses[0], losses[1], 0.01);
}

}  // namespace
}  // namespace mfkit
