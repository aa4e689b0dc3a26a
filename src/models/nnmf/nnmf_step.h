// Internal: NNMF's training step without autograd. The network is small (80-50-50-50-1), so a
// step is a handful of GEMMs; autograd's graph, the sort/hash of unique rows and the
// index_select/index_copy chain of a sparse latent update cost as much as the GEMMs. Here the
// batch is split into one chunk per thread, each chunk runs forward and backward by hand with
// single-threaded BLAS (no nested threading), and latent gradients are scattered into dense
// per-row buffers that are updated only on the rows the batch touched.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "models/nnmf/nnmf_net.h"

namespace mfkit::nnmf {

/// Gradients of sum over the batch of ((r - r̂) / scale)^2 (no penalty; the member's scale) from one
/// hand-written backward pass.
struct BatchGrads {
  double sse = 0;  // sum of squared errors before the step
  std::vector<torch::Tensor>
      weights;                     // per Linear layer in order: dW, db; then the skip path's dW (if weights requested)
  torch::Tensor du, dup, dv, dvp;  // per example [b, D], [b, D'K], [b, D], [b, D'K] (if inputs requested)
  torch::Tensor dbias;             // per example [b]: d/d(bu) = d/d(bi) (if inputs and biases)
};

/// The Linear layers of the member's network, in order (the last one is the output layer).
std::vector<torch::nn::Linear> linear_layers(const Member& m);

/// Forward and backward over the batch (u, i: long rows and columns; r: ratings) in one chunk per
/// libtorch thread. `weights`: compute the network's gradients; `inputs`: the per-example
/// gradients of the latents. Dropout masks come from `seed` (one stream per chunk), so a run is
/// reproducible whatever the thread timing.
BatchGrads backprop(const Member& m, const NnmfParams& p, const torch::Tensor& u, const torch::Tensor& i,
                    const torch::Tensor& r, bool weights, bool inputs, uint64_t seed);

/// The latents of one side (rows = users or columns = items): the latent tensors, their per-row
/// optimiser state and dense gradient buffers. A step scatters per-example gradients (plus the
/// penalty lambda * n^reg_exponent * |row|^2 of a row with n ratings, bias_lambda in place of lambda
/// for the bias, spread as 1/n per occurrence so that an epoch adds up to the full objective;
/// exponent 0 is the paper's) and updates only the touched rows.
class LatentSide {
 public:
  /// `params`: D-, D'K- and bias tensors of this side (float, contiguous; the bias may be
  /// undefined when biases are off); `count`: ratings per row in the training data.
  LatentSide(std::vector<torch::Tensor> params, const torch::Tensor& count, double reg_exponent = 0);
  /// One optimiser step from per-example gradients `grads` (same order as params) of rows `rows`:
  /// add() then apply().
  void step(const torch::Tensor& rows, const std::vector<torch::Tensor>& grads, const NnmfParams& p, double lambda,
            double lr, int64_t t);
  /// Adds per-example gradients and their penalty to the rows' gradient buffers (a large batch is
  /// added in pieces; the latents do not change until apply()).
  void add(const torch::Tensor& rows, const std::vector<torch::Tensor>& grads, const NnmfParams& p, double lambda);
  /// One optimiser step on every row added since the last apply(); clears the buffers.
  void apply(const NnmfParams& p, double lr, int64_t t);

 private:
  std::vector<torch::Tensor> params_, s1_, s2_, grad_;
  std::vector<float> pen_weight_;  // n^(reg_exponent - 1) per row
  std::vector<char> marked_;
  std::vector<int64_t> touched_;
};

}  // namespace mfkit::nnmf
