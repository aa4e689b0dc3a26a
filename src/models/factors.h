// Internal: the learned state shared by the factor models (biased-mf, als):
// r̂(u,i) = mu + bu[u] + bi[i] + P[u]·Q[i], with P (users x k) and Q (items x k) row-major.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "mfkit/model.h"

namespace mfkit {

/// out (n x n_items, row-major) = X[users] Y^T: the given users' rows of X (row-major, k wide)
/// gathered and multiplied by the item rows Y in one GEMM.
void dot_scores(const float* X, const float* Y, int32_t n_items, int k, const int32_t* users, size_t n, float* out);

/// Row `r` of a row-major matrix `k` wide with `rows` rows; NotFoundError when out of range.
std::vector<float> row_of(const std::vector<float>& m, int k, int32_t r, int32_t rows);
/// Rows of a row-major matrix of width k held in m (0 when k is 0).
inline int64_t rows_of(const std::vector<float>& m, int k) { return k > 0 ? static_cast<int64_t>(m.size()) / k : 0; }
/// Model::item_keys from item vectors Y (n x k) and biases b (empty: zeros): [Y_i, b_i].
std::vector<float> keys_with_bias(const std::vector<float>& Y, const std::vector<float>& b, int k, int* dim);

/// `old` (CSR by user) grown to n rows, row users[r] replaced by row r of `rows` (the last one
/// for a repeated user), added rows empty; values carried when `values` (else dropped).
Csr replace_rows(const Csr& old, int32_t n, const std::vector<int32_t>& users, const Csr& rows, bool values);
/// Model::set_users for a user matrix X (rows x dim, row-major): grown to n rows of zeros, row
/// users[r] set to states[r].
void set_rows(std::vector<float>& X, int dim, int32_t n, const std::vector<int32_t>& users,
              const std::vector<std::vector<float>>& states);

/// Normal(0, std) initial rows keyed by raw id: row r of `out` (names.size() x k) is drawn from a
/// stream seeded by `seed` and the text of names[r], so a row starts the same whatever the row
/// order or the process that owns it (distributed training matches one process).
void keyed_normal_rows(const std::vector<std::string>& names, int k, double std, uint64_t seed, float* out);

/// Uniform initial rows with standard deviation `std` (on [-sqrt(3) std, sqrt(3) std]): row r of
/// `out` (rows x k) from its own stream of `seed` and r, so the result does not depend on
/// `threads`. About 1 ns a value: for models whose fit is short beside drawing normals.
void uniform_rows(int64_t rows, int k, double std, uint64_t seed, float* out, int threads);

struct Factors {
  int k = 0;
  float mu = 0;
  std::vector<float> bu, bi;  // biases (zeros when the model has none)
  std::vector<float> P, Q;    // row-major factors
  float lo = 0, hi = 0;       // training rating range, for clipping
  bool clip = false;

  int32_t n_users() const { return static_cast<int32_t>(bu.size()); }
  int32_t n_items() const { return static_cast<int32_t>(bi.size()); }
  /// Normal(0, std) factors, zero biases, mu and range from `train`.
  void init(const Interactions& train, int k, double std, uint64_t seed, bool clip);
  void predict(const int32_t* users, const int32_t* items, size_t n, float* out) const;
  /// Scores of all items for n users: one GEMM (n x k) * (k x items), plus biases.
  void score(const int32_t* users, size_t n, float* out) const;
  /// RMSE over all entries of `m` (0 when empty).
  double rmse(const Interactions& m) const;
  bool finite() const;
  /// Fold-in: the bias and vector of a new user with these ratings, solved by ridge regression
  /// with the items fixed (reg times the count, as ALS-WR); then that user's scores of every item.
  void score_new_user(const std::vector<int32_t>& items, const std::vector<float>& values, float reg, float* out) const;
  /// The fold-in solve alone: [bias, vector] (k + 1 values).
  std::vector<float> fold_in(const std::vector<int32_t>& items, const std::vector<float>& values, float reg) const;
  /// As tensors named prefix + "mu", "user_bias", "item_bias", "user_factors", "item_factors".
  void save(TensorMap& out, const std::string& prefix = "") const;
  void load(const TensorMap& in, int32_t n_users, int32_t n_items, const std::string& prefix = "");
};

struct SgdState;
/// Factors into SGD's padded working rows (kernels/sgd.h), and back; rows shared among `threads`.
void to_sgd_state(const Factors& f, SgdState& s, int threads = 1);
void from_sgd_state(const SgdState& s, Factors& f, int threads = 1);

}  // namespace mfkit
