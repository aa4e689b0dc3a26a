// Internal: lock-free request counters and latency histograms for mfkit serve.
#pragma once

#include <nlohmann/json.hpp>

#include <array>
#include <atomic>
#include <cstdint>
#include <string>

namespace mfkit {

/// Latencies in log-spaced buckets (20 per decade from 1 us to 100 s); percentiles are read
/// off the histogram (upper edge of the bucket holding the rank), so they are within ~12%.
class LatencyHistogram {
 public:
  static constexpr int kBuckets = 161;
  void record(double micros);
  uint64_t count() const { return count_.load(std::memory_order_relaxed); }
  /// Microseconds at quantile q in [0, 1]; 0 when empty.
  double quantile(double q) const;

 private:
  std::array<std::atomic<uint64_t>, kBuckets> buckets_{};
  std::atomic<uint64_t> count_{0};
};

struct EndpointStats {
  std::atomic<uint64_t> ok{0}, client_error{0}, server_error{0};
  LatencyHistogram latency;
  nlohmann::json to_json() const;
};

}  // namespace mfkit
