#include "serve/metrics.h"

#include <cmath>

namespace mfkit {

namespace {
constexpr double kPerDecade = 20.0;
}

void LatencyHistogram::record(double micros) {
  int b = micros <= 1.0 ? 0 : static_cast<int>(std::floor(std::log10(micros) * kPerDecade)) + 1;
  if (b >= kBuckets) b = kBuckets - 1;
  buckets_[b].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
}

double LatencyHistogram::quantile(double q) const {
  uint64_t total = 0;
  std::array<uint64_t, kBuckets> snap;
  for (int b = 0; b < kBuckets; ++b) total += snap[b] = buckets_[b].load(std::memory_order_relaxed);
  if (total == 0) return 0.0;
  uint64_t rank = static_cast<uint64_t>(std::ceil(q * static_cast<double>(total)));
  if (rank < 1) rank = 1;
  uint64_t seen = 0;
  for (int b = 0; b < kBuckets; ++b) {
    seen += snap[b];
    if (seen >= rank) return b == 0 ? 1.0 : std::pow(10.0, b / kPerDecade);
  }
  return std::pow(10.0, (kBuckets - 1) / kPerDecade);
}

nlohmann::json EndpointStats::to_json() const {
  return {{"requests", latency.count()},
          {"2xx", ok.load()},
          {"4xx", client_error.load()},
          {"5xx", server_error.load()},
          {"latency_us", {{"p50", latency.quantile(0.50)}, {"p90", latency.quantile(0.90)},
                          {"p99", latency.quantile(0.99)}, {"max_bucket", latency.quantile(1.0)}}}};
}

}  // namespace mfkit
