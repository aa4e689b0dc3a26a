// mfkit serve over real HTTP on loopback: model replaced during load with no failed request,
// hostile requests leave the server healthy.
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "mfkit/serve.h"
#include "serve/serve_fixture.h"

namespace mfkit {
namespace {

struct Running {
  test::TempDir dir;
  std::string model = dir.path("dotify.mfk");
  std::unique_ptr<Server> server;
  std::thread thread;
  explicit Running(int reload_ms) {
    test::write_chart_model(model);
    ServeOptions o;
    o.port = 0;
    o.models = {{"dotify", model}};
    o.reload_ms = reload_ms;
    o.threads = 6;
    o.quiet = true;
    server = std::make_unique<Server>(o);
    thread = std::thread([this] { server->run(); });
    httplib::Client c("127.0.0.1", server->port());
    for (int n = 0; n < 100 && !c.Get("/healthz"); ++n) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ~Running() {
    server->stop();
    thread.join();
  }
};

TEST(Server, ReloadsTheModelUnderLoadWithoutAFailedRequest) {
  Running r(/*reload_ms=*/10);
  std::atomic<bool> done{false};
  std::atomic<int> ok{0}, failed{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 4; ++t)
    clients.emplace_back([&, t] {
      httplib::Client c("127.0.0.1", r.server->port());
      c.set_keep_alive(true);
      c.set_tcp_nodelay(true);
      const char* users[] = {"CO", "TR", "DE", "Mexico"};
      while (!done) {
        auto res = c.Get(std::string("/v1/recommend?k=5&user=") + users[t]);
        (res && res->status == 200 ? ok : failed)++;
      }
    });
  for (int gen = 0; gen < 6; ++gen) {
    std::string next = r.dir.path("next.mfk");
    test::write_chart_model(next, 3 + gen % 3, 10 + gen);
    std::filesystem::rename(next, r.model);
    std::this_thread::sleep_for(std::chrono::milliseconds(120));
  }
  done = true;
  for (auto& c : clients) c.join();
  EXPECT_EQ(failed.load(), 0);
  EXPECT_GT(ok.load(), 100);
  nlohmann::json m = r.server->service().metrics();
  EXPECT_GE(m["reloads"].get<int>(), 5) << m.dump();
  EXPECT_EQ(m["reload_failures"], 0);
}

TEST(Server, HostileRequestsGet4xxAndTheServerStaysHealthy) {
  Running r(0);
  httplib::Client c("127.0.0.1", r.server->port());
  auto long_uri = c.Get("/v1/query?q=" + std::string(20000, 'a'));
  ASSERT_TRUE(long_uri);
  EXPECT_EQ(long_uri->status, 414);
  auto post = c.Post("/v1/recommend", "user=CO", "application/x-www-form-urlencoded");
  ASSERT_TRUE(post);
  EXPECT_EQ(post->status, 405);
  auto big = c.Post("/v1/recommend", std::string(200000, 'x'), "text/plain");
  EXPECT_TRUE(!big || big->status == 413 || big->status == 405) << big->status << " " << big->body;
  auto traversal = c.Get("/%2e%2e/%2e%2e/etc/passwd");
  ASSERT_TRUE(traversal);
  EXPECT_EQ(traversal->status, 404);
  auto bad_utf8 = c.Get("/v1/query?q=%ff%fe%fd");
  ASSERT_TRUE(bad_utf8);
  EXPECT_EQ(bad_utf8->status, 400);
  EXPECT_NE(bad_utf8->body.find("UTF-8"), std::string::npos);
  // A raw garbage request line on its own socket.
  {
    httplib::Client raw("127.0.0.1", r.server->port());
    auto res = raw.Get("/v1/recommend?user=CO&k=" + std::string(3000, '9'));
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 400);
  }
  auto health = c.Get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  auto page = c.Get("/");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  EXPECT_NE(page->body.find("dotify"), std::string::npos);
  EXPECT_EQ(page->get_header_value("Content-Type").rfind("text/html", 0), 0u);
}

}  // namespace
}  // namespace mfkit
