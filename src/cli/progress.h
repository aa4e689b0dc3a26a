// Internal to the CLI: per-epoch progress on stderr. On a terminal, one redrawn line with a bar,
// the epoch's metrics and an ETA; otherwise plain lines, one per epoch.
#pragma once

#include <chrono>
#include <string>

#include "mfkit/model.h"

namespace mfkit::cli {

class Progress {
 public:
  Progress(std::string label, bool quiet);
  /// The callback to pass as FitOptions::on_epoch (it never stops training).
  EpochCallback callback();
  void finish();

 private:
  void draw(const EpochInfo& e);
  std::string label_;
  bool quiet_, tty_, drawn_ = false;
  double elapsed_ = 0;
};

}  // namespace mfkit::cli
