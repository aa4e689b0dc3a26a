#include "models/epochs.h"

#include <chrono>
#include <cmath>
#include <optional>

#include "mfkit/error.h"

namespace mfkit {

void run_epochs(const std::string& model, int epochs, int patience, const FitOptions& opt, const EpochHooks& h) {
  double best_crit = INFINITY;
  int since_best = 0;
  bool have_best = false;
  auto take_best = [&](double crit) {
    best_crit = crit;
    since_best = 0;
    if (patience > 0 && h.keep_best) {
      h.keep_best();
      have_best = true;
    }
  };
  auto diverged = [&](int ep, const std::string& what) {
    return DivergedError(model + ": training diverged at epoch " + std::to_string(ep) + " (" + what +
                         "); lower learning_rate or raise the regularisation");
  };
  std::optional<double> start;
  if (h.judge_start && h.valid) start = h.valid();
  if (start) take_best(*start);
  for (int ep = 1; ep <= epochs; ++ep) {
    auto t0 = std::chrono::steady_clock::now();
    double loss = h.step(ep);
    EpochInfo info;
    info.epoch = ep;
    info.epochs = epochs;
    info.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    info.has_train_loss = loss != kNoTrainLoss;
    info.train_loss = info.has_train_loss ? loss : 0.0;
    if (!std::isfinite(loss) || (h.finite && !h.finite())) throw diverged(ep, "loss is not finite");
    if (h.valid) info.valid_rmse = h.valid();
    if (h.valid_auc) info.valid_auc = h.valid_auc();
    if (h.monitor) info.monitor_rmse = h.monitor();
    if (info.valid_rmse && (!std::isfinite(*info.valid_rmse) ||
                            (start && *info.valid_rmse > h.diverged_above * *start + h.diverged_slack)))
      throw diverged(ep, "validation RMSE " + std::to_string(*info.valid_rmse) +
                             (start ? " from " + std::to_string(*start) + " at the start" : ""));
    // One criterion, lower is better: RMSE, or 1 - AUC.
    std::optional<double> crit = info.valid_rmse;
    if (!crit && info.valid_auc) crit = 1.0 - *info.valid_auc;
    if (crit) {
      if (*crit < best_crit) {
        take_best(*crit);
      } else {
        ++since_best;
      }
    }
    bool go_on = !opt.on_epoch || opt.on_epoch(info);
    if (!go_on) break;
    if (patience > 0 && crit && since_best >= patience) break;
  }
  if (have_best && h.restore_best) h.restore_best();
}

void run_epochs(const std::string& model, int epochs, int patience, Factors* f, const FitOptions& opt,
                const std::function<double(int)>& step) {
  std::optional<Factors> best;
  EpochHooks h;
  h.step = step;
  if (f) {
    h.finite = [f] { return f->finite(); };
    if (opt.validation && opt.validation->nnz() > 0)
      h.valid = [f, &opt]() -> std::optional<double> { return f->rmse(*opt.validation); };
    if (opt.monitor && opt.monitor->nnz() > 0)
      h.monitor = [f, &opt]() -> std::optional<double> { return f->rmse(*opt.monitor); };
    h.keep_best = [&] { best = *f; };
    h.restore_best = [&] { *f = std::move(*best); };
  }
  run_epochs(model, epochs, patience, opt, h);
}

}  // namespace mfkit
