#include "models/epochs.h"

#include <chrono>
#include <cmath>
#include <optional>

#include "mfkit/error.h"

namespace mfkit {

void run_epochs(const std::string& model, int epochs, int patience, Factors* f, const FitOptions& opt,
                const std::function<double(int)>& step) {
  std::optional<Factors> best;
  double best_rmse = INFINITY;
  int since_best = 0;
  for (int ep = 1; ep <= epochs; ++ep) {
    auto t0 = std::chrono::steady_clock::now();
    double loss = step(ep);
    EpochInfo info;
    info.epoch = ep;
    info.epochs = epochs;
    info.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    info.train_loss = loss;
    if (!std::isfinite(loss) || (f && !f->finite()))
      throw DivergedError(model + ": training diverged at epoch " + std::to_string(ep) +
                          " (loss is not finite); lower learning_rate or raise reg");
    if (f && opt.validation && opt.validation->nnz() > 0) {
      info.valid_rmse = f->rmse(*opt.validation);
      if (*info.valid_rmse < best_rmse) {
        best_rmse = *info.valid_rmse;
        since_best = 0;
        if (patience > 0) best = *f;
      } else {
        ++since_best;
      }
    }
    bool go_on = !opt.on_epoch || opt.on_epoch(info);
    if (!go_on) break;
    if (patience > 0 && opt.validation && since_best >= patience) break;
  }
  if (best) *f = std::move(*best);
}

}  // namespace mfkit
