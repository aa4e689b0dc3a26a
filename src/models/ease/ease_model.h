// Internal: the ease model class (parameters: include/mfkit/models/ease.h).
#pragma once

#include "mfkit/model.h"
#include "mfkit/models/ease.h"

namespace mfkit {

class Ease : public ModelWithParams<EaseParams> {
 public:
  std::string type() const override { return "ease"; }
  bool implicit() const override { return true; }
  void predict(const int32_t* users, const int32_t* items, size_t n, float* out) const override;
  void score(const int32_t* users, size_t n, float* out) const override;
  void score_new_user(const std::vector<int32_t>& items, const std::vector<float>& values, float* out) const override;
  /// score(u, i) = sum_j x_uj B_ji: each of the user's items j contributes x_uj B_ji.
  std::vector<std::pair<int32_t, float>> explain(int32_t user, int32_t item, int k) const override;
  void save_tensors(TensorMap& out) const override;
  void load_tensors(const TensorMap& in) override;

 protected:
  void do_fit(const Interactions& train, const FitOptions& opt) override;

 private:
  float x(float value) const { return p_.binary ? 1.0f : value; }
  /// out[0..n_items) = sum over entries e in [begin, end) of x(values[e]) * B[indices[e], :].
  void accumulate(const int32_t* items, const float* values, size_t n, float* out) const;

  std::vector<float> B_;             // items x items, row-major, zero diagonal
  std::vector<float> train_values_;  // raw training values in seen() order
};

}  // namespace mfkit
