#include <gtest/gtest.h>

#include <Eigen/Dense>

#include "mfkit/data.h"
#include "mfkit/error.h"
#include "mfkit/model_file.h"
#include "mfkit/registry.h"
#include "test_util.h"

namespace mfkit {
namespace {

Interactions small() {
  SyntheticSpec spec;
  spec.users = 80;
  spec.items = 25;
  spec.density = 0.3;
  return synthetic_ratings(spec);
}

Eigen::MatrixXd weights(const Model& m) {
  TensorMap t;
  m.save_tensors(t);
  std::vector<float> b = t.at("item_weights").as_f32();
  Eigen::MatrixXd B(m.n_items(), m.n_items());
  for (int32_t i = 0; i < m.n_items(); ++i)
    for (int32_t j = 0; j < m.n_items(); ++j) B(i, j) = b[static_cast<size_t>(i) * m.n_items() + j];
  return B;
}

Eigen::MatrixXd dense(const Interactions& d, bool binary) {
  Eigen::MatrixXd X = Eigen::MatrixXd::Zero(d.n_users(), d.n_items());
  const Csr& c = d.by_user();
  for (int32_t u = 0; u < c.rows(); ++u)
    for (int64_t e = c.indptr[u]; e < c.indptr[u + 1]; ++e) X(u, c.indices[e]) = binary ? 1.0 : c.values[e];
  return X;
}

// The constrained least squares' optimality condition: with G = X^T X + reg I, G B equals X^T X
// off the diagonal (the diagonal holds the constraint's multipliers), and diag(B) = 0.
TEST(Ease, SatisfiesTheClosedFormsConditions) {
  auto data = small();
  for (bool binary : {true, false}) {
    auto m = create_model("ease", "", {{"reg", 7.0}, {"binary", binary}});
    m->fit(data, {Context{2, 1}, nullptr, nullptr});
    Eigen::MatrixXd X = dense(data, binary), B = weights(*m);
    Eigen::MatrixXd XtX = X.transpose() * X;
    Eigen::MatrixXd GB = (XtX + 7.0 * Eigen::MatrixXd::Identity(data.n_items(), data.n_items())) * B;
    for (int32_t i = 0; i < data.n_items(); ++i) {
      EXPECT_EQ(B(i, i), 0.0);
      for (int32_t j = 0; j < data.n_items(); ++j)
        if (i != j) {
          EXPECT_NEAR(GB(i, j), XtX(i, j), 1e-3 * (1 + std::abs(XtX(i, j)))) << binary << " " << i << "," << j;
        }
    }
    // Scores are X B.
    Eigen::MatrixXd S = X * B;
    std::vector<int32_t> users = {0, 3, 17};
    std::vector<float> out(users.size() * data.n_items());
    m->score(users.data(), users.size(), out.data());
    for (size_t r = 0; r < users.size(); ++r)
      for (int32_t i = 0; i < data.n_items(); ++i) EXPECT_NEAR(out[r * data.n_items() + i], S(users[r], i), 1e-4);
  }
}

TEST(Ease, RefusesACatalogueAboveMaxItems) {
  auto data = small();
  auto m = create_model("ease", "", {{"max_items", 10}});
  try {
    m->fit(data);
    FAIL() << "fitted 25 items with max_items = 10";
  } catch (const ParamError& e) {
    EXPECT_NE(std::string(e.what()).find("max_items = 10"), std::string::npos) << e.what();
  }
}

TEST(Ease, ExplainSumsToTheScore) {
  auto data = small();
  auto m = create_model("ease");
  m->fit(data);
  auto parts = m->explain(4, 2, 1000);
  double sum = 0;
  for (auto& [item, share] : parts) sum += share;
  EXPECT_NEAR(sum, m->predict_one(4, 2), 1e-4);
}

}  // namespace
}  // namespace mfkit
