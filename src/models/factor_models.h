// Internal: the biased-mf and als model classes (their parameters are public in
// include/mfkit/models/).
#pragma once

#include "mfkit/model.h"
#include "mfkit/models/als.h"
#include "mfkit/models/biased_mf.h"
#include "models/factors.h"

namespace mfkit {

/// Shared by the models whose state is Factors.
template <class P>
class FactorModelBase : public ModelWithParams<P> {
 public:
  void predict(const int32_t* u, const int32_t* i, size_t n, float* out) const override { f_.predict(u, i, n, out); }
  void score(const int32_t* users, size_t n, float* out) const override { f_.score(users, n, out); }
  Model::MatrixView item_view() const override { return {f_.Q.data(), rows_of(f_.Q, f_.k), f_.k}; }
  Model::MatrixView user_view() const override { return {f_.P.data(), rows_of(f_.P, f_.k), f_.k}; }
  std::vector<float> user_vector(int32_t u) const override { return row_of(f_.P, f_.k, u, this->n_users()); }
  std::vector<float> item_keys(int* dim) const override { return keys_with_bias(f_.Q, f_.bi, f_.k, dim); }
  void save_tensors(TensorMap& out) const override { f_.save(out); }
  void score_new_user(const std::vector<int32_t>& items, const std::vector<float>& values, float* out) const override {
    f_.score_new_user(items, values, fold_in_reg(), out);
  }
  std::vector<float> fold_in_user(const std::vector<int32_t>& items, const std::vector<float>& values) const override {
    std::vector<float> bx = f_.fold_in(items, values, fold_in_reg());
    return std::vector<float>(bx.begin() + 1, bx.end());
  }
  const Factors& factors() const { return f_; }

 protected:
  Factors f_;
  std::vector<float> user_state(const std::vector<int32_t>& items, const std::vector<float>& values) const override {
    return f_.fold_in(items, values, fold_in_reg());  // [bias, vector]
  }
  void set_users(int32_t n, const std::vector<int32_t>& users, const Csr&,
                 const std::vector<std::vector<float>>& states) override {
    std::vector<std::vector<float>> vecs(states.size());
    for (size_t r = 0; r < states.size(); ++r) vecs[r].assign(states[r].begin() + 1, states[r].end());
    set_rows(f_.P, f_.k, n, users, vecs);
    f_.bu.resize(static_cast<size_t>(n), 0.0f);
    for (size_t r = 0; r < states.size(); ++r) f_.bu[users[r]] = states[r][0];
  }
  /// Ridge weight per rating for fold-in (the model's own factor regularisation).
  virtual float fold_in_reg() const { return static_cast<float>(this->p_.reg); }
};

class BiasedMf : public FactorModelBase<BiasedMfParams> {
 public:
  std::string type() const override { return "biased-mf"; }
  void load_tensors(const TensorMap& in) override;

 protected:
  void do_fit(const Interactions& train, const FitOptions& opt) override;
};

class Als : public FactorModelBase<AlsParams> {
 public:
  std::string type() const override { return "als"; }
  void load_tensors(const TensorMap& in) override;

 protected:
  void do_fit(const Interactions& train, const FitOptions& opt) override;
};

}  // namespace mfkit
