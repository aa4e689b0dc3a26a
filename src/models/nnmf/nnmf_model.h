// Internal: the nnmf model class. libtorch stays inside nnmf.cpp (pimpl).
#pragma once

#include <memory>

#include "mfkit/model.h"
#include "mfkit/models/nnmf.h"

namespace mfkit {

class Nnmf : public ModelWithParams<NnmfParams> {
 public:
  Nnmf();
  ~Nnmf() override;
  std::string type() const override { return "nnmf"; }
  void predict(const int32_t* users, const int32_t* items, size_t n, float* out) const override;
  void score_new_user(const std::vector<int32_t>& items, const std::vector<float>& values, float* out) const override;
  void save_tensors(TensorMap& out) const override;
  void load_tensors(const TensorMap& in) override;
  /// lambda (resolved when -1) and, with a blend, each member's weight and validation RMSE (and what was left out).
  nlohmann::json chosen() const override;

  struct Impl;

 protected:
  void do_fit(const Interactions& train, const FitOptions& opt) override;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace mfkit
