// mfkit/models/als.h - explicit-feedback alternating least squares with biases.
//
// Alternates exact ridge solves: each user's [b_u, x_u] given the items, then each item's
// [b_i, y_i] given the users (Eigen LLT per row, OpenMP over rows, single-threaded kernels).
// With `weighted_reg` the L2 weight of a row is multiplied by its number of ratings (ALS-WR,
// Zhou et al. 2008), which is what makes plain ALS competitive on MovieLens.
#pragma once

#include "mfkit/params.h"

namespace mfkit {

struct AlsParams {
  int factors = 64;          // latent dimension
  int iterations = 15;       // full sweeps (users then items)
  double reg = 0.08;         // L2 on factors (times the row's count when weighted_reg)
  double reg_bias = 0.05;    // L2 on biases (times the row's count when weighted_reg)
  bool weighted_reg = true;  // ALS-WR regularisation scaled by ratings per row
  bool biases = true;        // solve user/item biases jointly with the factors
  double init_std = 0.1;     // std of the normal initial item factors
  int patience = 0;          // stop after this many sweeps without validation gain (0 = off)
  bool clip = true;          // clip predictions to the training rating range

  void visit(ParamVisitor& v);
  void validate() const;
};

}  // namespace mfkit
