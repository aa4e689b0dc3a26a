// NNMF's fit with a moving average of the parameters (ema): the model it keeps is the average,
// not the last iterate.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "mfkit/data.h"
#include "mfkit/models/nnmf.h"
#include "mfkit/registry.h"

namespace mfkit {
namespace {

std::vector<float> fit_and_predict(const Interactions& data, int epochs, double ema, int batch_size = 256) {
  auto m = create_model("nnmf");
  m->set_params({{"epochs", epochs},
                 {"ema", ema},
                 {"patience", 0},
                 {"ensemble", 1},
                 {"d_prime", 8},
                 {"hidden", 16},
                 {"layers", 2},
                 {"batch_size", batch_size},
                 {"learning_rate", 0.01},
                 {"lambda", 10.0},
                 {"warm_start", "none"},
                 {"blend", "none"}});  // the network alone
  m->fit(data, {Context{1, 3}, nullptr, nullptr});
  std::vector<int32_t> u, i;
  for (int32_t a = 0; a < 20; ++a)
    for (int32_t b = 0; b < 20; ++b) {
      u.push_back(a);
      i.push_back(b);
    }
  std::vector<float> out(u.size());
  m->predict(u.data(), i.data(), u.size(), out.data());
  return out;
}

double max_diff(const std::vector<float>& a, const std::vector<float>& b) {
  double d = 0;
  for (size_t k = 0; k < a.size(); ++k) d = std::max(d, static_cast<double>(std::abs(a[k] - b[k])));
  return d;
}

TEST(Nnmf, MovingAverageIsWhatTheModelKeeps) {
  const Interactions data = synthetic_ratings();
  const auto one = fit_and_predict(data, 1, 0.0);
  const auto two = fit_and_predict(data, 2, 0.0);
  ASSERT_GT(max_diff(one, two), 1e-2);  // the second epoch moves the predictions
  // The average starts as epoch 1's state; at a decay of 0.999 epoch 2 adds a thousandth of it.
  EXPECT_LT(max_diff(fit_and_predict(data, 2, 0.999), one), 2e-3);
  // One epoch: the average is that epoch's state, the same model as without it.
  EXPECT_LT(max_diff(fit_and_predict(data, 1, 0.5), one), 1e-6);
}

TEST(Nnmf, FullBatchIsOneStepWhateverTheOrderAndPieces) {
  // 19,200 ratings: the full batch runs in two passes whose gradients add up before each step.
  const Interactions data = synthetic_ratings();
  ASSERT_GT(data.nnz(), kNnmfPassRows);
  const auto full = fit_and_predict(data, 3, 0.0, 0);
  // A batch as large as the data is the same full batch in a shuffled order (other pieces): the
  // same three network and three latent steps, up to float summation order.
  EXPECT_LT(max_diff(fit_and_predict(data, 3, 0.0, 1 << 20), full), 1e-4);
  // Both steps ran: a network-only epoch (the latents left at their start) predicts otherwise.
  EXPECT_GT(max_diff(fit_and_predict(data, 3, 0.0, 256), full), 1e-2);
}

}  // namespace
}  // namespace mfkit
