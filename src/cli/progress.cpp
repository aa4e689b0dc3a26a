#include "cli/progress.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>

namespace mfkit::cli {

Progress::Progress(std::string label, bool quiet)
    : label_(std::move(label)), quiet_(quiet), tty_(::isatty(STDERR_FILENO) == 1) {}

EpochCallback Progress::callback() {
  return [this](const EpochInfo& e) {
    elapsed_ += e.seconds;
    if (!quiet_) draw(e);
    return true;
  };
}

void Progress::draw(const EpochInfo& e) {
  std::string metrics = e.has_train_loss ? fmt::format("train {:.4f}", e.train_loss) : "";
  if (e.valid_rmse) metrics += fmt::format("{}valid rmse {:.4f}", metrics.empty() ? "" : "  ", *e.valid_rmse);
  double eta = e.epoch > 0 ? elapsed_ / e.epoch * (e.epochs - e.epoch) : 0;
  if (tty_) {
    const int width = 24;
    int filled = e.epochs > 0 ? width * e.epoch / e.epochs : width;
    std::string bar = std::string(filled, '#') + std::string(width - filled, '.');
    fmt::print(stderr, "\r{} [{}] {}/{}  {}  {:.1f}s  ETA {:.1f}s\x1b[K", label_, bar, e.epoch, e.epochs, metrics,
               elapsed_, eta);
    drawn_ = true;
  } else {
    fmt::print(stderr, "{} epoch {}/{}  {}  {:.3f}s\n", label_, e.epoch, e.epochs, metrics, e.seconds);
  }
  std::fflush(stderr);
}

void Progress::finish() {
  if (drawn_) fmt::print(stderr, "\n");
  drawn_ = false;
}

}  // namespace mfkit::cli
