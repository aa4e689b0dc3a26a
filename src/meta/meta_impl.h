// Internal: meta-mf's network behind MetaMf. The network is libtorch code in the neural part
// (src/meta/meta_net.cpp, libmfkit_torch.so); MetaMf (src/meta/meta_mf.cpp) forwards to it.
#pragma once

#include <functional>
#include <vector>

#include "mfkit/meta.h"
#include "mfkit/model_file.h"

namespace mfkit {

struct MetaMf::Impl {
  explicit Impl(const MetaMfParams& params) : p(params) {}
  virtual ~Impl() = default;
  MetaMfParams p;

  virtual std::vector<float> predict(const Episode& e, int steps) = 0;  ///< steps >= 0
  virtual std::vector<float> impute(const Episode& e) = 0;
  virtual nlohmann::json learned() = 0;
  virtual double meta_train(const EpisodeSource& src, const EpisodeSpec& spec, const Context& ctx,
                            const std::function<bool(const MetaTrainInfo&)>& on_eval) = 0;
  /// The network's parameters and buffers as tensors named prefix + libtorch's name.
  virtual void save_tensors(const std::string& prefix, TensorMap& out) = 0;
  virtual void load_tensors(const std::string& prefix, const TensorMap& in) = 0;
  virtual double loss_and_grad(const Episode& e, std::vector<double>* grad) = 0;
  virtual std::vector<double> get_flat() = 0;
  virtual void set_flat(const std::vector<double>& v) = 0;
};

}  // namespace mfkit
