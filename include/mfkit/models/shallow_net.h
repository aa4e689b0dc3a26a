// mfkit/models/shallow_net.h - the five shallow networks that approximate implicit MF
// (W. Wolf, "Approximating Implicit Matrix Factorization with Shallow Neural Networks", dotify).
//
// Trained on the IMF objective mean(C (P - y)^2) with P = [R~ > 0], C = 1 + alpha R~ and
// R~ = log(1 + R/epsilon) (or R itself with scaling = "none"), over the dense user x item grid
// as in the post, or over the observed cells plus sampled negatives where the grid is too big.
//   1: user and item embeddings -> dot product
//   2: as 1, plus a scalar bias embedding for user and for item
//   3: concatenated embeddings -> Dense(h, relu) -> Dropout -> BatchNorm -> Dense(h, relu) ->
//      BatchNorm -> Dense(h, relu) -> BatchNorm -> Dense(1), plus both biases
//   4: as 2, plus the item title: tokenised, padded, embedded, an LSTM, Dense(1, relu); the two
//      scalars combined by a final linear Dense(1)
//   5: as 4, plus the item category (artist) embedding -> Dense(1, relu), combined linearly
// loss = bpr or warp trains the same networks to rank instead (observed cells only, each against
// `negatives` unseen items drawn per step): bpr minimises mean softplus(y_uj - y_ui); warp takes
// the first drawn j with y_uj > y_ui - 1 and descends ln(floor((n_items-1)/N)) (1 - y_ui + y_uj),
// N its draw number (LightFM's weighting; a positive without a violator is skipped).
// Embeddings carry Keras-style L2 (reg times the squared norm of the whole embedding matrices,
// added to every batch's loss), as in the post.
#pragma once

#include <string>

#include "mfkit/params.h"

namespace mfkit {

struct ShallowNetParams {
  int architecture = 2;            // 1..5 as listed above
  int factors = 30;                // embedding size F
  double reg = 10.0;               // L2 on the embedding matrices (Keras embeddings_regularizer)
  double alpha = 0.1;              // confidence slope C = 1 + alpha R~
  double epsilon = 1000.0;         // R~ = log(1 + R/epsilon)
  std::string scaling = "log";     // log: R~ = log(1 + R/epsilon); none: R~ = R
  int epochs = 5;                  // passes over the training cells
  int batch_size = 1024;           // cells per Adam step
  double learning_rate = 1e-3;     // Adam step size
  std::string cells = "grid";      // grid: every user x item cell; sampled: observed + negatives
  int negatives = 4;               // sampled: unobserved cells per observed cell; bpr/warp: negatives per positive
  std::string loss = "pointwise";  // pointwise (the post's weighted squared error) | bpr | warp
  int hidden = 10;                 // architecture 3: width of the dense layers
  double dropout = 0.5;            // architecture 3: dropout after the first dense layer
  int vocabulary = 5000;           // architectures 4-5: most frequent title words kept
  int title_length = 8;            // architectures 4-5: title tokens kept (padded/truncated)
  int text_dim = 16;               // architectures 4-5: word embedding and LSTM size

  void visit(ParamVisitor& v);
  void validate() const;
};

}  // namespace mfkit
