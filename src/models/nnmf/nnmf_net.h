// Internal: NNMF's network, latents and objective as libtorch code, shared by the model and its
// gradient check. Include only from .cpp files that use libtorch.
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

#include "mfkit/models/nnmf.h"

namespace mfkit::nnmf {

/// One trained network with its latents (one member of an ensemble).
struct Member {
  mutable torch::nn::Sequential net{nullptr};  // forward() is not const in libtorch
  mutable torch::nn::Linear skip{nullptr};     // product block -> output, no bias (only with skip)
  torch::Tensor U, Up, V, Vp;                  // [users, D], [users, D'K], [items, D], [items, D'K]
  torch::Tensor bu, bi;                        // [users], [items]; zeros unless biases
  double mu = 0;                               // offset: the training mean with biases or standardize, else 0
  double scale = 1;                            // the network's output unit: the ratings' sd with standardize, else 1

  /// Builds the network and initialises everything as the paper does (prediction = mu + scale * f).
  void init(const NnmfParams& p, int64_t users, int64_t items, double mean, uint64_t seed, double scale = 1);
  Member clone() const;
  /// this = keep * this + (1 - keep) * x, over every latent and weight (a moving average).
  void blend(const Member& x, double keep);
  std::vector<torch::Tensor> latents() const { return {U, Up, V, Vp, bu, bi}; }
  /// The network's weights, the skip path's included: what the network step optimises.
  std::vector<torch::Tensor> weights() const;
};

/// The network's prediction from gathered rows (one row per example).
torch::Tensor predict_rows(const Member& m, const NnmfParams& p, const torch::Tensor& u, const torch::Tensor& up,
                           const torch::Tensor& v, const torch::Tensor& vp, const torch::Tensor& bu,
                           const torch::Tensor& bi);

}  // namespace mfkit::nnmf
