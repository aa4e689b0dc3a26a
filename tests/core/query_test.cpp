#include "mfkit/query.h"

#include <gtest/gtest.h>

#include "mfkit/labels.h"
#include "mfkit/registry.h"
#include "test_util.h"

namespace mfkit {
namespace {

// A fitted model whose rows are countries; the vectors are then set by hand through a file-less
// route: we fit on a tiny matrix and check the arithmetic against a direct computation.
std::unique_ptr<Model> country_model() {
  std::vector<std::tuple<std::string, std::string, float>> t;
  const char* rows[] = {"CO", "TR", "DE", "US"};
  for (int r = 0; r < 4; ++r)
    for (int i = 0; i < 12; ++i)
      if ((r * 5 + i * 3) % 7 < 4) t.push_back({rows[r], "song" + std::to_string(i), float(1 + (r + i) % 4)});
  auto m = create_model("implicit-als");
  m->set_params({{"factors", 3}, {"iterations", 4}});
  Labels l;
  for (const char* r : rows) l.user_names.push_back(country_name(r).empty() ? r : country_name(r));
  auto data = test::make_matrix(t);
  FitOptions o{Context{1, 1}, nullptr, nullptr, &l};
  m->fit(data, o);
  return m;
}

TEST(Query, ComputesTheArithmeticOnNormalisedVectors) {
  auto m = country_model();
  int dim;
  auto rows = m->user_vectors(&dim);
  auto items = m->item_vectors(&dim);
  auto unit = [&](std::vector<float> v, size_t r) {
    std::vector<float> x(v.begin() + r * dim, v.begin() + (r + 1) * dim);
    double s = 0;
    for (float a : x) s += a * a;
    for (float& a : x) a /= std::sqrt(s);
    return x;
  };
  int32_t co = m->user_ids()->find("CO"), tr = m->user_ids()->find("TR"), de = m->user_ids()->find("DE");
  auto a = unit(rows, co), b = unit(rows, tr), c = unit(rows, de);
  // The product is rescaled to unit length, then Germany is subtracted.
  std::vector<float> ab(dim), q(dim);
  for (int d = 0; d < dim; ++d) ab[d] = a[d] * b[d];
  ab = unit(ab, 0);
  for (int d = 0; d < dim; ++d) q[d] = ab[d] - c[d];
  QueryOptions o;
  o.k = 3;
  QueryResult r = run_query(*m, "Colombia x Turkey - Germany", o);
  ASSERT_EQ(r.rows, (std::vector<int32_t>{co, tr, de}));
  ASSERT_EQ(r.items.size(), 3u);
  for (const Scored& s : r.items) {
    auto y = unit(items, s.index);
    double want = 0;
    for (int d = 0; d < dim; ++d) want += q[d] * y[d];
    EXPECT_NEAR(s.score, want, 1e-5);
  }
  // Each answer lists the rows that hold it, ascending.
  ASSERT_EQ(r.holders.size(), 3u);
  for (size_t j = 0; j < 3; ++j) {
    std::vector<int32_t> want;
    const Csr& seen = m->seen();
    for (int32_t u = 0; u < seen.rows(); ++u)
      for (int64_t e = seen.indptr[u]; e < seen.indptr[u + 1]; ++e)
        if (seen.indices[e] == r.items[j].index) want.push_back(u);
    EXPECT_EQ(r.holders[j].rows, want);
    EXPECT_EQ(r.holders[j].count, static_cast<int64_t>(want.size()));
  }
  o.max_holders = 1;
  for (const Holders& h : run_query(*m, "Colombia", o).holders) EXPECT_LE(h.rows.size(), 1u);
  // Precedence: a - b x c == a - (b x c); codes and quoted names work too.
  auto p1 = run_query(*m, "CO - TR x DE", o), p2 = run_query(*m, "\"Colombia\" - (TR x de)", o);
  EXPECT_EQ(p1.items[0].index, p2.items[0].index);
  EXPECT_FLOAT_EQ(p1.items[0].score, p2.items[0].score);
}

TEST(Query, MalformedExpressionsNameThePosition) {
  auto m = country_model();
  auto pos_of = [&](const std::string& e) -> long {
    try {
      run_query(*m, e);
    } catch (const QueryError& q) {
      return static_cast<long>(q.position());
    }
    return -1;
  };
  EXPECT_EQ(pos_of("Colombia x (Turkey - "), 21);
  EXPECT_EQ(pos_of("Colombia )"), 9);
  EXPECT_EQ(pos_of(""), 0);
  EXPECT_EQ(pos_of("Colombia + + Turkey"), 11);
  EXPECT_EQ(pos_of("CO x \"TR"), 5);
  EXPECT_EQ(pos_of(std::string(100, '(') + "CO" + std::string(100, ')')), 64);  // too deep
  try {
    run_query(*m, "Colombiaa + Turkey");
    FAIL();
  } catch (const QueryError& q) {
    EXPECT_NE(std::string(q.what()).find("unknown user 'Colombiaa'; close matches: Colombia"), std::string::npos)
        << q.what();
  }
  EXPECT_THROW(run_query(*m, "Nigeria"), QueryError);  // a real country, not in the model
}

TEST(Countries, NamesAndCodesResolve) {
  if (country_name("CO").empty()) GTEST_SKIP() << "iso-codes is not installed";
  EXPECT_EQ(country_name("CO"), "Colombia");
  EXPECT_EQ(country_code("colombia"), "CO");
  EXPECT_EQ(country_code("Turkey"), "TR");
  EXPECT_EQ(country_code("South Korea"), "KR");
  EXPECT_EQ(country_code("Atlantis"), "");
}

}  // namespace
}  // namespace mfkit
