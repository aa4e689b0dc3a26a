// Internal: lock-free request counters and latency histograms for mfkit serve, and their
// Prometheus text exposition.
#pragma once

#include <nlohmann/json.hpp>

#include <array>
#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "mfkit/serve.h"

namespace mfkit {

/// Latencies in log-spaced buckets (20 per decade from 1 us to 100 s); percentiles are read
/// off the histogram (upper edge of the bucket holding the rank), so they are within ~12%.
class LatencyHistogram {
 public:
  static constexpr int kBuckets = 161;
  static constexpr int kPerDecade = 20;
  void record(double micros);
  uint64_t count() const { return count_.load(std::memory_order_relaxed); }
  double sum_seconds() const { return double(sum_ns_.load(std::memory_order_relaxed)) * 1e-9; }
  /// Microseconds at quantile q in [0, 1]; 0 when empty.
  double quantile(double q) const;
  /// Upper edge of bucket b, in microseconds.
  static double upper_us(int b);
  std::array<uint64_t, kBuckets> snapshot() const;

 private:
  std::array<std::atomic<uint64_t>, kBuckets> buckets_{};
  std::atomic<uint64_t> count_{0}, sum_ns_{0};
};

/// The HTTP statuses the service answers with, counted one by one (anything else as "other").
constexpr std::array<int, 12> kCountedStatuses = {200, 400, 401, 403, 404, 405, 408, 413, 414, 431, 500, 503};

struct EndpointStats {
  std::array<std::atomic<uint64_t>, kCountedStatuses.size() + 1> by_status{};
  LatencyHistogram latency;
  void record(int status, double micros);
  nlohmann::json to_json() const;
};

struct ModelGauge {
  std::string name, type;
  uint64_t generation = 0;
  int64_t users = 0, items = 0;
};

/// What /metrics reports besides the endpoints.
struct ServiceGauges {
  double uptime_s = 0;
  uint64_t reloads = 0, reload_failures = 0;
  std::vector<ModelGauge> models;
  std::optional<ConnectionStats> connections;  // when a Server keeps them
};

/// The Prometheus text exposition format (version 0.0.4) of the stats of every endpoint with
/// traffic (endpoint_names[e] labels stats[e]) and of the service, via prometheus-cpp's serializer.
std::string prometheus_text(const EndpointStats* stats, const char* const* endpoint_names, int endpoints,
                            const ServiceGauges& service);

}  // namespace mfkit
