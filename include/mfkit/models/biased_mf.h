// mfkit/models/biased_mf.h - biased matrix factorisation trained by parallel SGD.
//
// r̂(u,i) = μ + b_u + b_i + p_u·q_i, trained on squared error with L2 regularisation. Epochs run
// LIBMF's lock-free schedule (FPSG): rows and columns are randomly permuted and cut into a grid
// of blocks; threads take blocks whose row and column bands are both free, so no two threads
// ever touch the same vector. The grid is square, as LIBMF's, until the users' rows pass
// 128 MiB; then it has fewer item bands, since an epoch fetches each user's row once per band.
// With `adaptive`, each vector carries one AdaGrad accumulator (one float per vector, as LIBMF)
// that scales its learning rate.
#pragma once

#include <cstdint>
#include <string>
#include <utility>

#include "mfkit/params.h"

namespace mfkit {

struct BiasedMfParams {
  int factors = 128;            // latent dimension: more capacity, cost linear in it
  int epochs = 20;              // passes over the training data (upper bound with early stopping)
  double learning_rate = 0.04;  // SGD step (initial rate when adaptive)
  double reg = 0.045;           // L2 on factor vectors, per update: larger shrinks towards the biases
  double reg_bias = 0.01;       // L2 on the user and item biases
  double init_std = 0.1;        // std of the normal initial factors (scaled by 1/sqrt(factors))
  bool adaptive = true;         // per-vector AdaGrad learning rates (LIBMF); else plain SGD with decay
  double lr_decay = 0.95;       // plain SGD only: learning rate multiplied by this each epoch
  bool biases = true;           // learn user/item biases beside the global mean
  int blocks = 0;               // user bands of the grid; 0 = auto (max(2*threads+1, 20))
  int item_blocks = 0;          // item bands of the grid; 0 = blocks, fewer once the users' rows are large
  int patience = 0;             // stop after this many epochs without validation gain (0 = off)
  bool clip = true;             // clip predictions to the training data's rating range

  void visit(ParamVisitor& v);
  void validate() const;
  /// The grid's {user bands, item bands} for `threads` workers over n_users users.
  std::pair<int, int> grid(int threads, int64_t n_users) const;
};

}  // namespace mfkit
