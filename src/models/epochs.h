// Internal: the epoch loop shared by the factor models: timing, validation RMSE, the user's
// callback, divergence checks and early stopping that restores the best epoch.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "mfkit/model.h"
#include "models/factors.h"

namespace mfkit {

/// What a step returns when it was asked not to compute its loss (implicit-als's compute_loss =
/// false: the loss is an extra pass over the data). Losses are never negative.
inline constexpr double kNoTrainLoss = -1.0;

/// What a model plugs into the loop. Only `step` is required.
struct EpochHooks {
  std::function<double(int)> step;                   // trains epoch `ep` (1-based), returns the train loss
  std::function<bool()> finite;                      // false when the state holds NaN or infinity
  std::function<std::optional<double>()> valid;      // validation RMSE of the current state, if any
  std::function<std::optional<double>()> valid_auc;  // or validation AUC (higher is better)
  std::function<std::optional<double>()> monitor;    // RMSE on FitOptions::monitor (reported only)
  std::function<void()> keep_best;                   // remembers the current state as the best so far
  std::function<void()> restore_best;                // puts the remembered state back (end of training)
  // Judge the state before the first epoch too (a warm start): it is the best until an epoch
  // beats it, and a validation RMSE above `diverged_above` times it plus `diverged_slack` (or not
  // finite) throws DivergedError. The slack keeps a near-perfect start (RMSE 0.02 on a clean
  // matrix) from calling an ordinary first epoch (0.04) a divergence.
  bool judge_start = false;
  double diverged_above = 1.25;
  double diverged_slack = 0;
};

/// Calls `h.step(epoch)` up to `epochs` times; after each epoch checks the loss (and `h.finite`),
/// reports validation RMSE (or AUC) through `opt.on_epoch`, and with patience > 0 stops after that many
/// epochs without a validation gain and restores the best epoch. A validation RMSE that is not
/// finite throws DivergedError, as does one far above the start's when the start is judged.
void run_epochs(const std::string& model, int epochs, int patience, const FitOptions& opt, const EpochHooks& h);

/// The factor models' form: validation RMSE from `f` against `opt.validation`.
void run_epochs(const std::string& model, int epochs, int patience, Factors* f, const FitOptions& opt,
                const std::function<double(int)>& step);

}  // namespace mfkit
