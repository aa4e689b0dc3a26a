// Internal: the epoch loop shared by the factor models: timing, validation RMSE, the user's
// callback, divergence checks and early stopping that restores the best epoch.
#pragma once

#include <functional>
#include <string>

#include "mfkit/model.h"
#include "models/factors.h"

namespace mfkit {

/// Calls `step(epoch)` (returns the train loss) up to `epochs` times. With `f`, also checks the
/// factors are finite, reports validation RMSE and, with patience, restores the best epoch.
void run_epochs(const std::string& model, int epochs, int patience, Factors* f, const FitOptions& opt,
                const std::function<double(int)>& step);

}  // namespace mfkit
