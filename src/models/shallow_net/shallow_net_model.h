// Internal: the shallow-net model class. libtorch stays inside shallow_net.cpp (pimpl).
#pragma once

#include <memory>

#include "mfkit/model.h"
#include "mfkit/models/shallow_net.h"

namespace mfkit {

class ShallowNet : public ModelWithParams<ShallowNetParams> {
 public:
  ShallowNet();
  ~ShallowNet() override;
  std::string type() const override { return "shallow-net"; }
  bool implicit() const override { return true; }
  void predict(const int32_t* users, const int32_t* items, size_t n, float* out) const override;
  std::vector<float> item_vectors(int* dim) const override;
  std::vector<float> user_vectors(int* dim) const override;
  void save_tensors(TensorMap& out) const override;
  void load_tensors(const TensorMap& in) override;

  struct Impl;

 protected:
  void do_fit(const Interactions& train, const FitOptions& opt) override;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace mfkit
