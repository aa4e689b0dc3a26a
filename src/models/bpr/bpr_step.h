// Internal: the SGD steps of bpr (the update rules and the Hogwild epoch that drives them).
#pragma once

#include <cstdint>
#include <random>
#include <vector>

#include "mfkit/interactions.h"

namespace mfkit {

struct BprConfig {
  int f = 0;
  bool warp = false;
  float lr = 0.05f, reg = 0.002f, reg_bias = 0.0f;
  bool biases = true, popularity = false, verify = true;
  bool adaptive = true;  // per-vector AdaGrad step sizes (accumulators start at 1, as LIBMF)
  int max_sampled = 100;
};

/// The learned state: X (users x f), Y (items x f), b (items), row-major; with AdaGrad, one
/// accumulator of squared gradients per user vector (ax), item vector (ay) and item bias (ab).
struct BprState {
  std::vector<float> X, Y, b;
  std::vector<float> ax, ay, ab;
};

/// Draws negatives for a user: uniform over items, or a random training entry's item
/// (popularity). With `verify`, redraws (up to 10 times) an item in `row` (sorted).
class NegativeSampler {
 public:
  NegativeSampler(const Csr& by_user, int32_t n_items, const BprConfig& c) : m_(by_user), n_(n_items), c_(c) {}
  int32_t draw(std::mt19937_64& rng, const int32_t* row, int64_t row_len) const;

 private:
  const Csr& m_;
  int32_t n_;
  const BprConfig& c_;
};

/// The loss's choice for positive (x, i): a negative j and the weight g of the ascent step on
/// s_ui - s_uj (0: nothing to do, a warp positive with no violator), and the step's loss
/// (-ln sigmoid for bpr, the weighted hinge for warp).
struct PairStep {
  int32_t j = 0;
  float g = 0, loss = 0;
};
PairStep choose_pair(const float* x, int32_t i, const int32_t* row, int64_t row_len, const BprState& s,
                     const NegativeSampler& neg, const BprConfig& c, std::mt19937_64& rng);

/// The step on x alone (items fixed, as in fold-in): x += step (g (y_i - y_j) - reg x), with
/// `acc` the vector's AdaGrad accumulator.
void update_user(float* x, float* acc, int32_t i, const PairStep& p, const BprState& s, const BprConfig& c);

/// One epoch of nnz steps, each on a uniformly drawn training entry, split over `threads`
/// Hogwild workers with their own streams from `seed`. Returns the mean step loss.
double bpr_epoch(const Csr& by_user, const std::vector<int32_t>& entry_user, BprState& s, const BprConfig& c,
                 int threads, uint64_t seed);

}  // namespace mfkit
