// The request handling of mfkit serve, without sockets: answers, 4xx for every kind of bad
// input, metrics, and atomic model reloads.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

#include "mfkit/error.h"
#include "mfkit/serve.h"
#include "serve/serve_fixture.h"

namespace mfkit {
namespace {

using nlohmann::json;

struct Fixture {
  test::TempDir dir;
  std::string model = dir.path("dotify.mfk");
  std::unique_ptr<Service> svc;
  Fixture() {
    test::write_chart_model(model);
    ServeOptions o;
    o.models = {{"dotify", model}};
    o.max_k = 50;
    o.quiet = true;
    svc = std::make_unique<Service>(o);
  }
  std::pair<int, json> get(const std::string& path, const Params& p = {}) {
    Response r = svc->handle(path, p);
    return {r.status, json::parse(r.body)};
  }
};

TEST(Service, RecommendsForACountryByCodeOrName) {
  Fixture f;
  auto [s1, by_code] = f.get("/v1/recommend", {{"user", "CO"}, {"k", "3"}});
  ASSERT_EQ(s1, 200) << by_code.dump();
  ASSERT_EQ(by_code["items"].size(), 3u);
  EXPECT_EQ(by_code["user"]["name"], "Colombia");
  EXPECT_TRUE(by_code["items"][0]["title"].get<std::string>().rfind("Song ", 0) == 0);
  EXPECT_TRUE(by_code["items"][0]["category"].get<std::string>().rfind("Artist ", 0) == 0);
  auto [s2, by_name] = f.get("/v1/recommend", {{"user", "colombia"}, {"k", "3"}});
  ASSERT_EQ(s2, 200);
  EXPECT_EQ(by_name["items"], by_code["items"]);
  // Seen tracks are filtered by default and kept on request.
  auto [s3, all] = f.get("/v1/recommend", {{"user", "CO"}, {"k", "12"}, {"filter_seen", "false"}});
  ASSERT_EQ(s3, 200);
  EXPECT_EQ(all["items"].size(), 12u);
  EXPECT_LT(by_code["items"].size() + 0, all["items"].size());
}

TEST(Service, FoldsInANewListenerFromItsTracks) {
  Fixture f;
  auto [s, r] = f.get("/v1/recommend",
                      {{"items", "https://open.spotify.com/track/t1,https://open.spotify.com/track/t2"}, {"k", "5"}});
  ASSERT_EQ(s, 200) << r.dump();
  ASSERT_EQ(r["items"].size(), 5u);
  for (const auto& e : r["items"]) {
    EXPECT_NE(e["item"], "https://open.spotify.com/track/t1");
    EXPECT_NE(e["item"], "https://open.spotify.com/track/t2");
  }
}

TEST(Service, AnswersCountryArithmetic) {
  Fixture f;
  auto [s, r] = f.get("/v1/query", {{"q", "Colombia x Turkey - Germany"}, {"k", "4"}});
  ASSERT_EQ(s, 200) << r.dump();
  EXPECT_EQ(r["items"].size(), 4u);
  ASSERT_EQ(r["rows"].size(), 3u);
  EXPECT_EQ(r["rows"][1]["user"], "TR");
  for (const auto& item : r["items"]) {  // which countries chart each answer
    ASSERT_TRUE(item.contains("in")) << item.dump();
    EXPECT_EQ(item["in_count"].get<size_t>(), item["in"].size());
    EXPECT_GE(item["in"].size(), 1u);
    EXPECT_TRUE(item["in"][0].contains("name"));
  }
  auto [e, err] = f.get("/v1/query", {{"q", "Colombia x (Turkey"}});
  EXPECT_EQ(e, 400);
  EXPECT_EQ(err["field"], "q");
  EXPECT_EQ(err["position"], 18);
  auto [n, unknown] = f.get("/v1/query", {{"q", "Colmbia"}});
  EXPECT_EQ(n, 400);
  EXPECT_NE(unknown["error"].get<std::string>().find("Colombia"), std::string::npos) << "close matches are suggested";
}

TEST(Service, HostileAndMalformedRequestsGet4xxNamingTheField) {
  Fixture f;
  struct Case {
    std::string path;
    Params p;
    int status;
    std::string field;
  };
  std::string deep = std::string(200, '(') + "Colombia" + std::string(200, ')');
  std::vector<Case> cases = {
      {"/v1/recommend", {{"user", "CO"}, {"k", "1000000000000"}}, 400, "k"},
      {"/v1/recommend", {{"user", "CO"}, {"k", "-3"}}, 400, "k"},
      {"/v1/recommend", {{"user", "CO"}, {"k", "3x"}}, 400, "k"},
      {"/v1/recommend", {{"user", "CO"}, {"filter_seen", "maybe"}}, 400, "filter_seen"},
      {"/v1/recommend", {{"user", "Atlantis"}}, 404, "user"},
      {"/v1/recommend", {}, 400, "user"},
      {"/v1/recommend", {{"user", "CO"}, {"user", "TR"}}, 400, "user"},
      {"/v1/recommend", {{"user", "CO"}, {"exclude", "nope"}}, 404, "exclude"},
      {"/v1/recommend", {{"user", "CO"}, {"limit", "3"}}, 400, "limit"},
      {"/v1/recommend", {{"user", "\xff\xfe"}}, 400, "user"},
      {"/v1/recommend", {{"user", "CO"}, {"model", "../../etc/passwd"}}, 404, "model"},
      {"/v1/recommend", {{"items", "https://open.spotify.com/track/t1"}, {"values", "1,2"}}, 400, "values"},
      {"/v1/recommend", {{"items", "https://open.spotify.com/track/t1"}, {"values", "nan"}}, 400, "values"},
      {"/v1/query", {{"q", deep}}, 400, "q"},
      {"/v1/query", {{"q", std::string(5000, 'a')}}, 400, "q"},
      {"/v1/query", {{"q", "\xc0\xaf"}}, 400, "q"},
      {"/v1/query", {{"q", ""}}, 400, "q"},
      {"/v1/similar", {{"item", "https://open.spotify.com/track/t999"}}, 404, "item"},
      {"/v1/similar", {{"item", "x"}, {"user", "CO"}}, 400, "item"},
      {"/v1/predict", {{"user", "CO"}}, 400, "item"},
      {"/v1/entities", {{"kind", "songs"}}, 400, "kind"},
      {"/../../etc/passwd", {}, 404, "path"},
      {"/v1/recommend/../../../etc/passwd", {}, 404, "path"},
  };
  for (const Case& c : cases) {
    auto [s, body] = f.get(c.path, c.p);
    EXPECT_EQ(s, c.status) << c.path << " " << body.dump();
    EXPECT_EQ(body["field"], c.field) << c.path << " " << body.dump();
    EXPECT_FALSE(body["error"].get<std::string>().empty());
  }
  auto [s, health] = f.get("/healthz");
  EXPECT_EQ(s, 200);
  EXPECT_EQ(health["status"], "ok");
  json m = f.svc->metrics();
  EXPECT_GE(m["endpoints"]["recommend"]["4xx"].get<int>(), 11);
  EXPECT_EQ(m["endpoints"]["recommend"]["5xx"].get<int>(), 0);
}

TEST(Service, EntitiesCompleteCountryNames) {
  Fixture f;
  auto [s, r] = f.get("/v1/entities", {{"prefix", "co"}});
  ASSERT_EQ(s, 200);
  ASSERT_EQ(r["entities"].size(), 1u);
  EXPECT_EQ(r["entities"][0]["name"], "Colombia");
  auto [s2, all] = f.get("/v1/entities", {{"kind", "users"}, {"limit", "1000"}});
  EXPECT_EQ(all["entities"].size(), 6u);
  auto [s3, songs] = f.get("/v1/entities", {{"kind", "items"}, {"prefix", "song 1"}});
  EXPECT_EQ(songs["entities"].size(), 3u);  // Song 1, Song 10, Song 11
}

TEST(Service, MetricsCountRequestsAndLatency) {
  Fixture f;
  for (int n = 0; n < 20; ++n) f.get("/v1/recommend", {{"user", "CO"}});
  json m = f.svc->metrics()["endpoints"]["recommend"];
  EXPECT_EQ(m["requests"], 20);
  EXPECT_EQ(m["2xx"], 20);
  EXPECT_GT(m["latency_us"]["p50"].get<double>(), 0.0);
  EXPECT_GE(m["latency_us"]["p99"].get<double>(), m["latency_us"]["p50"].get<double>());
}

TEST(Service, ReloadsAReplacedFileAndKeepsTheOldModelWhenTheNewOneIsBroken) {
  Fixture f;
  EXPECT_EQ(f.svc->reload_changed(), 0);
  std::string next = f.dir.path("next.mfk");
  test::write_chart_model(next, 6, 2);
  std::filesystem::rename(next, f.model);
  EXPECT_EQ(f.svc->reload_changed(), 1);
  auto [s, h] = f.get("/healthz");
  EXPECT_EQ(h["models"][0]["generation"], 2);
  // A truncated file renamed into place: refused, generation 2 stays in service.
  std::string good = f.dir.path("good.mfk");
  test::write_chart_model(good, 5, 3);
  auto size = std::filesystem::file_size(good);
  std::filesystem::resize_file(good, size / 2);
  std::filesystem::rename(good, f.model);
  EXPECT_EQ(f.svc->reload_changed(), 0);
  EXPECT_EQ(f.svc->metrics()["reload_failures"], 1);
  auto [s2, h2] = f.get("/healthz");
  EXPECT_EQ(h2["models"][0]["generation"], 2);
  auto [s3, r] = f.get("/v1/recommend", {{"user", "CO"}});
  EXPECT_EQ(s3, 200);
}

TEST(Service, RefusesToStartWithoutAValidModel) {
  test::TempDir d;
  ServeOptions o;
  o.quiet = true;
  EXPECT_THROW(Service{o}, ParamError);
  o.models = {{"m", d.file("bad.mfk", "not a model")}};
  EXPECT_THROW(Service{o}, ModelFileError);
}

}  // namespace
}  // namespace mfkit
