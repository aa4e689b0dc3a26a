// mfkit/models/bpr.h - pairwise ranking MF: BPR (Rendle et al. 2009) or WARP (Weston et al. 2011).
//
// score(u, i) = b_i + x_u . y_i. Each step draws a training pair (u, i) and a negative item j:
//   bpr:  ascend ln sigmoid(s_ui - s_uj), one uniformly (or popularity-) drawn j;
//   warp: draw j until s_uj > s_ui - 1 (at most max_sampled draws); after N draws the hinge
//         1 - s_ui + s_uj is descended with weight ln(floor((n_items - 1) / N)), LightFM's
//         estimate of the positive's rank.
// Step sizes adapt per vector (AdaGrad, as LIBMF and LightFM) unless adaptive = false. Steps
// run Hogwild (threads update shared vectors without locks: collisions are rare in sparse data).
// With a validation matrix and patience > 0, training stops on validation AUC and keeps the best
// epoch. New users are folded in by the same steps on their vector alone.
#pragma once

#include <string>

#include "mfkit/params.h"

namespace mfkit {

struct BprParams {
  int factors = 128;                 // latent dimension
  int epochs = 60;                   // passes of nnz sampled triples (an upper bound with patience)
  std::string loss = "bpr";          // bpr | warp
  double learning_rate = 0.04;       // SGD step (AdaGrad's initial one when adaptive)
  bool adaptive = true;              // per-vector AdaGrad step sizes (LIBMF's); false = plain SGD
  double lr_decay = 1.0;             // step multiplied by this after every epoch
  double reg = 2e-5;                 // L2 on the vectors touched by a step, per step
  double reg_bias = 0.0;             // L2 on the item biases, per step
  bool item_biases = true;           // learn b_i
  std::string sampling = "uniform";  // negatives: uniform over items | popularity (as often as they occur)
  bool verify_negatives = true;      // redraw a negative the user has seen (up to 10 times)
  int max_sampled = 100;             // warp: draws per positive before it is skipped
  double init_std = 0.1;             // std of the uniform initial factors, divided by sqrt(factors)
  int patience = 0;                  // stop after this many epochs without validation AUC gain (0 = off)
  int fold_in_epochs = 30;           // passes over a new user's items when folding in

  void visit(ParamVisitor& v);
  void validate() const {}
};

}  // namespace mfkit
