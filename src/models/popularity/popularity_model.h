// Internal: the popularity model class (parameters: include/mfkit/models/popularity.h).
#pragma once

#include "mfkit/model.h"
#include "mfkit/models/popularity.h"

namespace mfkit {

class Popularity : public ModelWithParams<PopularityParams> {
 public:
  std::string type() const override { return "popularity"; }
  bool implicit() const override { return true; }
  void predict(const int32_t* users, const int32_t* items, size_t n, float* out) const override;
  void score(const int32_t* users, size_t n, float* out) const override;
  /// Not personalised: a new user gets the same scores as everyone.
  void score_new_user(const std::vector<int32_t>& items, const std::vector<float>& values, float* out) const override;
  void save_tensors(TensorMap& out) const override;
  void load_tensors(const TensorMap& in) override;

 protected:
  void do_fit(const Interactions& train, const FitOptions& opt) override;

 private:
  std::vector<float> pop_;  // per item
};

}  // namespace mfkit
