// mfkit/models/nnmf.h - Neural Network Matrix Factorization (Dziugaite & Roy, arXiv 1511.06443).
//
// Each row n has latents U_n in R^D and U'_n in R^{D' x K}; each column m has V_m and V'_m. A
// feed-forward network reads [U_n, V_m, (sum_k U'_{n,d,k} V'_{m,d,k})_{d=1..D'}] and outputs the
// rating. The objective is sum over observed entries of (r - r̂)^2 + lambda * |latents|^2 (no
// weight decay on the network), minimised by alternating optimisation: steps on the network
// weights with the latents fixed alternate with steps on the latents with the network fixed.
// Mini-batches alternate (one network step, one latent step); batch_size = 0 is full batch as in
// the paper's reference code (a batch of more than 16384 ratings runs in passes of that size
// whose gradients add up before the step). Latent steps are sparse: only the rows in the batch
// are read and updated (a lazy RMSProp/Adam state per row). The step is hand-written (no
// autograd): the batch is split into one chunk per thread, each running single-threaded GEMMs.
//
// Beyond the paper (each off in --preset paper): user/item biases and the global mean outside
// the network, other activations, dropout, Adam/AdamW, a learning-rate decay, prediction
// clipping, larger D'/K, a linear skip path from the product block to the output, a penalty on
// the biases, a moving average of the parameters over epochs, an ensemble of seeds, ratings
// standardised internally, and a warm start from biased MF.
//
// The defaults (`--preset best`) are chosen to carry over to any rating data: ratings are
// centred and divided by their sd inside (steps and lambda do not depend on the rating scale);
// the product block starts as biased MF's factors (d_prime of them, fitted on the same training
// part, its reg chosen on the validation part among 0.01-0.16 times the rating sd), the skip path
// as their dot product and the network's output at 0, so training starts from biased MF's
// predictions; lambda -1 penalises the latents per rating with that reg (reg_exponent 1); the
// start is judged on validation like every epoch (the best is kept, so the network can only
// replace it by doing better there), and a validation RMSE far above the start's throws
// DivergedError. The network is then blended (blend=biased-mf+autorec) with two partners fitted on
// the same training part: biased MF and I-AutoRec (Sedhain et al. 2015: each item's column of
// ratings encoded by one sigmoid layer and decoded to every user, a factor model whose item
// factors are learned from what the item was rated; see src/models/nnmf/autorec.h). The weights
// (non-negative, summing to 1) minimise the squared error on the validation part, so a member
// that does not help gets a weight near 0; chosen() reports them with each member's validation
// RMSE. I-AutoRec's step is dense over users x items: past about 10x ML-1M's size it is left out
// (reported). `--preset paper` / `paper-ml-1m` turn every addition off (paper-ml-1m: the
// paper's method at lambda 150, D' 120, batches of 32768 and RMSProp at 3e-4 for ML-1M).
#pragma once

#include <cstdint>
#include <string>

#include "mfkit/params.h"

namespace mfkit {

/// A batch of more than this many ratings (the full batch) runs in passes of this size whose
/// gradients add up before the one step.
inline constexpr int64_t kNnmfPassRows = 16384;

struct NnmfParams {
  int d = 10;                          // D: size of U_n and V_m (fed to the network directly)
  int d_prime = 128;                   // D': rows of U'_n and V'_m (the element-wise product block)
  int k = 1;                           // K: columns of U'_n and V'_m summed in the product block
  int layers = 3;                      // hidden layers
  int hidden = 50;                     // units per hidden layer
  std::string activation = "sigmoid";  // hidden activation: sigmoid | relu | tanh | elu
  double lambda = -1;         // L2 on the latents in the summed objective; -1: the warm start's reg (per rating)
  double bias_lambda = 0.01;  // L2 on the user/item biases, weighted like lambda (0: unpenalised)
  double reg_exponent =
      1.0;  // a row with n ratings is penalised lambda * n^this * |row|^2 (0: the paper; 1: per rating)
  std::string optimizer = "adam";  // rmsprop | adam | adamw (network and latents)
  double learning_rate = 1e-3;     // step size of both optimisers
  double lr_decay = 0.99;          // learning rate multiplied by this after every epoch
  double weight_decay = 0.0;       // adamw only: decoupled decay of the network weights
  int batch_size = 8192;           // ratings per step; 0 = full batch (the paper's reference code)
  int epochs = 300;                // upper bound; early stopping on the validation part ends sooner
  int patience = 10;               // epochs without validation gain before stopping (best restored)
  double valid_fraction = 0.02;    // carved from training data when fit() gets no validation matrix
  double init_std = 0.1;           // truncated normal std of the latents
  bool biases = true;              // global mean + user/item biases outside the network
  double dropout = 0.0;            // dropout on the hidden layers
  bool clip = true;                // clip predictions to the training rating range
  bool skip = false;               // a linear path from the product block to the output (NeuMF's GMF beside the MLP)
  double ema = 0.0;  // per-epoch decay of a moving average of all parameters; validation and the model use it (0: off)
  int ensemble = 1;  // average the predictions of this many seeds
  std::string warm_start = "biased-mf";  // none | biased-mf: the product block starts as biased MF's factors
  double warm_reg = 0;                   // the warm start's reg; 0: chosen on the validation part
  bool standardize = true;               // train on (r - mean) / sd: steps and lambda independent of the rating scale
  std::string blend = "biased-mf+autorec";  // none | biased-mf | autorec | biased-mf+autorec: partners mixed in,
                                            // weights chosen on validation
  int blend_factors = 128;   // factors of the biased MF blended in (the warm start's own when warm_start is biased-mf)
  int autorec_hidden = 500;  // I-AutoRec's hidden units (blend with autorec)
  double autorec_lambda = 2.0;  // L2 on I-AutoRec's weights, times an average user's ratings (blend with autorec)

  void visit(ParamVisitor& v);
  void validate() const;
};

}  // namespace mfkit
