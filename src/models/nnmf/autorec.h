// Internal: I-AutoRec (Sedhain, Menon, Sanner & Xie, WWW 2015), nnmf's second blend partner.
//
// Each item's column of ratings (divided by their sd, 0 where unobserved) is encoded by one sigmoid
// layer of `hidden` units and decoded by a linear layer back to every user; the loss is the squared
// error on the observed entries (standardised) plus lambda/2 times the squared weights. Once trained, the item's
// code h_i = sigmoid(W r_i + b) is a latent vector learned from what the item was rated, and the
// decoder's row for user u is that user's: the prediction mean + sd * (V_u . h_i + c_u) is a
// factor model, returned as Factors (P = sd V, Q = h, user bias sd c) and saved, blended and
// folded in like biased MF.
#pragma once

#include "mfkit/interactions.h"
#include "mfkit/model.h"
#include "models/factors.h"

namespace mfkit::nnmf {

/// Past these sizes nnmf's blend leaves I-AutoRec out (its step is dense over users x items).
inline constexpr double kAutoRecMaxCells = 2.5e8, kAutoRecMaxWeights = 5e7;

struct AutoRecSettings {
  int hidden = 500;
  double lambda = 2.0;          // L2 on the weights, times the ratings of an average user
  double learning_rate = 1e-3;  // Adam
  int batch = 256;              // items per step
  int epochs = 200;             // upper bound; early stopping on the validation part
  int patience = 5;             // on ML-1M the best epoch is near the 26th; 5 more cost 9 s
};

/// Fits I-AutoRec on `train` (ratings standardised by their mean and `sd`), keeping the epoch with
/// the lowest RMSE on `valid` (the last epoch when there is none).
Factors fit_autorec(const Interactions& train, const Interactions* valid, double sd, const AutoRecSettings& s,
                    const FitOptions& opt);

}  // namespace mfkit::nnmf
