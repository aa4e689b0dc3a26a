// /metrics read by the rules of the Prometheus text exposition format (0.0.4): every line a
// HELP, a TYPE or a sample; samples after their family's TYPE; label values quoted and escaped;
// histogram buckets cumulative in increasing `le` up to +Inf, which equals _count. And the
// figures themselves: the requests made here, the model in service, the build.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "mfkit/serve.h"
#include "mfkit/version.h"
#include "serve/serve_fixture.h"

namespace mfkit {
namespace {

struct Sample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value;
};

// Parses the exposition, failing the test on any line the format does not allow.
std::vector<Sample> parse(const std::string& text, std::map<std::string, std::string>& types) {
  static const std::regex help(R"(# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) .+)");
  static const std::regex type(R"(# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped))");
  static const std::regex sample(R"(([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)( -?\d+)?)");
  static const std::regex label(R"(([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)\"(,|$))");
  std::vector<Sample> out;
  std::istringstream in(text);
  std::string line;
  EXPECT_EQ(text.back(), '\n') << "the exposition must end with a line feed";
  while (std::getline(in, line)) {
    std::smatch m;
    if (line.rfind("# HELP ", 0) == 0) {
      EXPECT_TRUE(std::regex_match(line, m, help)) << line;
    } else if (line.rfind("# TYPE ", 0) == 0) {
      EXPECT_TRUE(std::regex_match(line, m, type)) << line;
      EXPECT_EQ(types.count(m[1]), 0u) << "two TYPE lines for " << m[1];
      types[m[1]] = m[2];
    } else {
      if (!std::regex_match(line, m, sample)) {
        ADD_FAILURE() << "not a sample line: " << line;
        continue;
      }
      Sample s{m[1], {}, 0};
      std::string labels = m[3];
      for (auto it = std::sregex_iterator(labels.begin(), labels.end(), label); it != std::sregex_iterator(); ++it)
        s.labels[(*it)[1]] = (*it)[2];
      std::string v = m[4];
      s.value = v == "+Inf" ? INFINITY : v == "-Inf" ? -INFINITY : std::stod(v);
      std::string family = std::regex_replace(s.name, std::regex("_(bucket|sum|count)$"), "");
      EXPECT_TRUE(types.count(s.name) || types.count(family)) << "sample before its TYPE: " << line;
      out.push_back(s);
    }
  }
  return out;
}

TEST(Prometheus, MetricsFollowTheTextFormatAndCountWhatHappened) {
  test::TempDir dir;
  std::string model = dir.path("dotify.mfk");
  test::write_chart_model(model);
  ServeOptions o;
  o.models = {{"dotify", model}};
  o.quiet = true;
  Service svc(o);
  for (int n = 0; n < 7; ++n) svc.handle("/v1/recommend", {{"user", "CO"}});
  for (int n = 0; n < 3; ++n) svc.handle("/v1/recommend", {{"user", "nobody"}});
  Request post;
  post.method = "POST";
  post.path = "/v1/recommend";
  svc.handle(post);
  Response r = svc.handle("/metrics", {});
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type.rfind("text/plain; version=0.0.4", 0), 0u) << r.content_type;

  std::map<std::string, std::string> types;
  std::vector<Sample> samples = parse(r.body, types);
  EXPECT_EQ(types["mfkit_http_requests_total"], "counter");
  EXPECT_EQ(types["mfkit_http_request_duration_seconds"], "histogram");
  std::map<std::string, double> requests;
  for (const Sample& s : samples)
    if (s.name == "mfkit_http_requests_total" && s.labels.at("endpoint") == "recommend")
      requests[s.labels.at("code")] = s.value;
  EXPECT_EQ(requests["200"], 7);
  EXPECT_EQ(requests["404"], 3);
  EXPECT_EQ(requests["405"], 1);

  // The recommend histogram: increasing le, cumulative counts, +Inf == _count == 11.
  double last_le = -1, last_count = -1, count = -1, inf = -1, sum = -1;
  for (const Sample& s : samples) {
    if (s.name.rfind("mfkit_http_request_duration_seconds", 0) != 0 || s.labels.at("endpoint") != "recommend") continue;
    if (s.name.size() > 7 && s.name.substr(s.name.size() - 7) == "_bucket") {
      double le = s.labels.at("le") == "+Inf" ? INFINITY : std::stod(s.labels.at("le"));
      EXPECT_GT(le, last_le);
      EXPECT_GE(s.value, last_count);
      last_le = le, last_count = s.value;
      if (std::isinf(le)) inf = s.value;
    } else if (s.name.substr(s.name.size() - 6) == "_count") {
      count = s.value;
    } else if (s.name.substr(s.name.size() - 4) == "_sum") {
      sum = s.value;
    }
  }
  EXPECT_EQ(inf, 11);
  EXPECT_EQ(count, 11);
  EXPECT_GT(sum, 0.0);
  EXPECT_LT(sum, 60.0);

  bool build = false, generation = false;
  for (const Sample& s : samples) {
    if (s.name == "mfkit_build_info") {
      build = s.value == 1 && s.labels.at("version") == version() && s.labels.at("revision") == source_revision();
    }
    if (s.name == "mfkit_model_generation") generation = s.labels.at("model") == "dotify" && s.value == 1;
  }
  EXPECT_TRUE(build) << r.body;
  EXPECT_TRUE(generation) << r.body;
  // The JSON form is still there.
  Response j = svc.handle("/metrics.json", {});
  EXPECT_EQ(j.status, 200);
  EXPECT_EQ(nlohmann::json::parse(j.body)["endpoints"]["recommend"]["requests"], 11);
}

}  // namespace
}  // namespace mfkit
