// Internal: the implicit-als model class (parameters: include/mfkit/models/implicit_als.h).
#pragma once

#include "mfkit/model.h"
#include "mfkit/models/implicit_als.h"
#include "models/factors.h"

namespace mfkit {

/// The confidence of an observed value r; values turned into confidences by `threads` workers,
/// and a CSR with its values so turned (ParamError when one is not positive).
float implicit_confidence(const ImplicitAlsParams& p, float r);
std::vector<float> implicit_confidence_values(const ImplicitAlsParams& p, const std::vector<float>& values,
                                              int threads);
Csr implicit_confidences(const ImplicitAlsParams& p, const Csr& m);

class ImplicitAls : public ModelWithParams<ImplicitAlsParams> {
 public:
  std::string type() const override { return "implicit-als"; }
  bool implicit() const override { return true; }
  void predict(const int32_t* users, const int32_t* items, size_t n, float* out) const override;
  void score(const int32_t* users, size_t n, float* out) const override;
  void score_new_user(const std::vector<int32_t>& items, const std::vector<float>& values, float* out) const override;
  std::vector<float> fold_in_user(const std::vector<int32_t>& items, const std::vector<float>& values) const override {
    return solve_user(items, values);
  }
  std::vector<std::pair<int32_t, float>> explain(int32_t user, int32_t item, int k) const override;
  MatrixView item_view() const override { return {Y_.data(), rows_of(Y_, f_), f_}; }
  MatrixView user_view() const override { return {X_.data(), rows_of(X_, f_), f_}; }
  std::vector<float> user_vector(int32_t u) const override { return row_of(X_, f_, u, n_users()); }
  std::vector<float> item_keys(int* dim) const override { return keys_with_bias(Y_, {}, f_, dim); }
  void save_tensors(TensorMap& out) const override;
  void load_tensors(const TensorMap& in) override;

 protected:
  void do_fit(const Interactions& train, const FitOptions& opt) override;
  void set_users(int32_t n, const std::vector<int32_t>& users, const Csr& rows,
                 const std::vector<std::vector<float>>& states) override {
    if (train_values_.size() == seen().indices.size())
      train_values_ = replace_rows(Csr{seen().indptr, seen().indices, train_values_, {}}, n, users, rows, true).values;
    set_rows(X_, f_, n, users, states);
  }

 private:
  float confidence(float r) const { return implicit_confidence(p_, r); }
  Csr confidences(const Csr& m) const { return implicit_confidences(p_, m); }
  std::vector<float> solve_user(const std::vector<int32_t>& items, const std::vector<float>& values) const;

  int f_ = 0;
  std::vector<float> X_, Y_;         // users x f, items x f, row-major
  std::vector<float> train_values_;  // raw training values in seen() order, for explain()
};

}  // namespace mfkit
