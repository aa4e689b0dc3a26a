#include "serve/metrics.h"

#include <prometheus/metric_family.h>
#include <prometheus/text_serializer.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>

#include "mfkit/version.h"

namespace mfkit {

void LatencyHistogram::record(double micros) {
  int b = micros <= 1.0 ? 0 : static_cast<int>(std::floor(std::log10(micros) * kPerDecade)) + 1;
  if (b >= kBuckets) b = kBuckets - 1;
  buckets_[b].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_ns_.fetch_add(static_cast<uint64_t>(std::max(0.0, micros) * 1000.0), std::memory_order_relaxed);
}

double LatencyHistogram::upper_us(int b) { return b == 0 ? 1.0 : std::pow(10.0, double(b) / kPerDecade); }

std::array<uint64_t, LatencyHistogram::kBuckets> LatencyHistogram::snapshot() const {
  std::array<uint64_t, kBuckets> snap;
  for (int b = 0; b < kBuckets; ++b) snap[b] = buckets_[b].load(std::memory_order_relaxed);
  return snap;
}

double LatencyHistogram::quantile(double q) const {
  std::array<uint64_t, kBuckets> snap = snapshot();
  uint64_t total = 0;
  for (uint64_t c : snap) total += c;
  if (total == 0) return 0.0;
  uint64_t rank = static_cast<uint64_t>(std::ceil(q * static_cast<double>(total)));
  if (rank < 1) rank = 1;
  uint64_t seen = 0;
  for (int b = 0; b < kBuckets; ++b) {
    seen += snap[b];
    if (seen >= rank) return upper_us(b);
  }
  return upper_us(kBuckets - 1);
}

void EndpointStats::record(int status, double micros) {
  size_t slot = kCountedStatuses.size();
  for (size_t s = 0; s < kCountedStatuses.size(); ++s)
    if (kCountedStatuses[s] == status) slot = s;
  by_status[slot].fetch_add(1, std::memory_order_relaxed);
  latency.record(micros);
}

nlohmann::json EndpointStats::to_json() const {
  uint64_t by_class[6] = {};
  for (size_t s = 0; s < kCountedStatuses.size(); ++s) by_class[kCountedStatuses[s] / 100] += by_status[s].load();
  return {{"requests", latency.count()},
          {"2xx", by_class[2]},
          {"4xx", by_class[4]},
          {"5xx", by_class[5] + by_status.back().load()},
          {"latency_us",
           {{"p50", latency.quantile(0.50)},
            {"p90", latency.quantile(0.90)},
            {"p99", latency.quantile(0.99)},
            {"max_bucket", latency.quantile(1.0)}}}};
}

namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

ClientMetric with_labels(std::vector<ClientMetric::Label> labels) {
  ClientMetric m;
  m.label = std::move(labels);
  return m;
}

MetricFamily gauge(const std::string& name, const std::string& help, double value) {
  ClientMetric m;
  m.gauge.value = value;
  return {name, help, MetricType::Gauge, {m}};
}

MetricFamily counter(const std::string& name, const std::string& help, double value) {
  ClientMetric m;
  m.counter.value = value;
  return {name, help, MetricType::Counter, {m}};
}

}  // namespace

std::string prometheus_text(const EndpointStats* stats, const char* const* endpoint_names, int endpoints,
                            const ServiceGauges& service) {
  MetricFamily requests{
      "mfkit_http_requests_total", "HTTP requests answered, by endpoint and status code", MetricType::Counter, {}};
  MetricFamily latency{"mfkit_http_request_duration_seconds",
                       "Time to answer a request (from parsed request to response body), by endpoint",
                       MetricType::Histogram,
                       {}};
  for (int e = 0; e < endpoints; ++e) {
    const EndpointStats& st = stats[e];
    if (st.latency.count() == 0) continue;
    for (size_t s = 0; s < st.by_status.size(); ++s) {
      uint64_t n = st.by_status[s].load(std::memory_order_relaxed);
      if (n == 0) continue;
      std::string code = s < kCountedStatuses.size() ? std::to_string(kCountedStatuses[s]) : "other";
      ClientMetric m = with_labels({{"endpoint", endpoint_names[e]}, {"code", code}});
      m.counter.value = double(n);
      requests.metric.push_back(m);
    }
    // Every fifth bucket of the histogram: 4 per decade, 1 us to 100 s (the edges coincide).
    auto snap = st.latency.snapshot();
    ClientMetric h = with_labels({{"endpoint", endpoint_names[e]}});
    uint64_t cumulative = 0, total = 0;
    for (int b = 0; b < LatencyHistogram::kBuckets; ++b) {
      cumulative += snap[b];
      if (b % 5 == 0) h.histogram.bucket.push_back({cumulative, LatencyHistogram::upper_us(b) * 1e-6});
    }
    for (uint64_t c : snap) total += c;
    h.histogram.bucket.push_back({total, std::numeric_limits<double>::infinity()});
    h.histogram.sample_count = total;
    h.histogram.sample_sum = st.latency.sum_seconds();
    latency.metric.push_back(h);
  }
  std::vector<MetricFamily> families;
  if (!requests.metric.empty()) families.push_back(requests);
  if (!latency.metric.empty()) families.push_back(latency);

  MetricFamily generation{"mfkit_model_generation",
                          "Generation of the model in service (rises by one per load or reload)",
                          MetricType::Gauge,
                          {}};
  MetricFamily rows{"mfkit_model_rows", "Users and items of the model in service", MetricType::Gauge, {}};
  for (const ModelGauge& m : service.models) {
    ClientMetric g = with_labels({{"model", m.name}, {"type", m.type}});
    g.gauge.value = double(m.generation);
    generation.metric.push_back(g);
    for (auto [kind, n] : {std::pair<const char*, int64_t>{"users", m.users}, {"items", m.items}}) {
      ClientMetric r = with_labels({{"model", m.name}, {"kind", kind}});
      r.gauge.value = double(n);
      rows.metric.push_back(r);
    }
  }
  families.push_back(generation);
  families.push_back(rows);
  families.push_back(counter("mfkit_model_reloads_total", "Model files reloaded after being replaced on disk",
                             double(service.reloads)));
  families.push_back(counter("mfkit_model_reload_failures_total",
                             "Replaced model files that failed to load (the previous model stayed in service)",
                             double(service.reload_failures)));
  families.push_back(gauge("mfkit_uptime_seconds", "Seconds since the service started", service.uptime_s));
  if (const auto& c = service.connections) {
    families.push_back(gauge("mfkit_http_connections_open", "HTTP connections open now", double(c->open)));
    families.push_back(
        counter("mfkit_http_connections_accepted_total", "HTTP connections accepted", double(c->accepted)));
    families.push_back(counter("mfkit_http_connections_refused_total",
                               "Connections refused (503) because --max-connections were open", double(c->refused)));
    families.push_back(counter("mfkit_http_connections_timed_out_total",
                               "Connections closed because a request or an idle wait outlasted its limit",
                               double(c->timed_out)));
  }
  MetricFamily build = gauge("mfkit_build_info", "The mfkit build serving (always 1)", 1.0);
  build.metric[0].label = {{"version", version()}, {"revision", source_revision()}};
  families.push_back(build);

  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, families);
  return out.str();
}

}  // namespace mfkit
