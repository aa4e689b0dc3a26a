// Internal: the bpr model class (parameters: include/mfkit/models/bpr.h).
#pragma once

#include "mfkit/model.h"
#include "mfkit/models/bpr.h"
#include "models/bpr/bpr_step.h"
#include "models/factors.h"

namespace mfkit {

class Bpr : public ModelWithParams<BprParams> {
 public:
  std::string type() const override { return "bpr"; }
  bool implicit() const override { return true; }
  void predict(const int32_t* users, const int32_t* items, size_t n, float* out) const override;
  void score(const int32_t* users, size_t n, float* out) const override;
  void score_new_user(const std::vector<int32_t>& items, const std::vector<float>& values, float* out) const override;
  std::vector<float> fold_in_user(const std::vector<int32_t>& items, const std::vector<float>& values) const override;
  MatrixView item_view() const override { return {s_.Y.data(), rows_of(s_.Y, f_), f_}; }
  MatrixView user_view() const override { return {s_.X.data(), rows_of(s_.X, f_), f_}; }
  std::vector<float> user_vector(int32_t u) const override { return row_of(s_.X, f_, u, n_users()); }
  std::vector<float> item_keys(int* dim) const override { return keys_with_bias(s_.Y, s_.b, f_, dim); }
  void save_tensors(TensorMap& out) const override;
  void load_tensors(const TensorMap& in) override;

 protected:
  void do_fit(const Interactions& train, const FitOptions& opt) override;
  void set_users(int32_t n, const std::vector<int32_t>& users, const Csr&,
                 const std::vector<std::vector<float>>& states) override {
    set_rows(s_.X, f_, n, users, states);
  }

 private:
  BprConfig config() const;

  int f_ = 0;
  BprState s_;
};

}  // namespace mfkit
