// mfkit serve off loopback: the API key (none, wrong, right; /healthz exempt), the refusal to
// listen in the open without one, and HTTPS with a self-signed certificate made here.
#include <gtest/gtest.h>
#include <httplib.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <nlohmann/json.hpp>
#include <thread>

#include "mfkit/error.h"
#include "mfkit/serve.h"
#include "serve/auth.h"
#include "serve/serve_fixture.h"

namespace mfkit {
namespace {

const char* kKey = "0123456789abcdef0123456789abcdef";

struct Served {
  test::TempDir dir;
  std::string model = dir.path("dotify.mfk");
  ServeOptions opt;
  Served() {
    test::write_chart_model(model);
    opt.port = 0;
    opt.models = {{"dotify", model}};
    opt.reload_ms = 0;
    opt.threads = 2;
    opt.quiet = true;
  }
  void with_key(const std::string& key) { opt.api_key_file = dir.file("key", key + "\n"); }
};

struct Running {
  std::unique_ptr<Server> server;
  std::thread thread;
  explicit Running(const ServeOptions& o) : server(std::make_unique<Server>(o)) {
    thread = std::thread([this] { server->run(); });
  }
  ~Running() {
    server->stop();
    thread.join();
  }
};

TEST(ServeAuth, NoKeyOrAWrongKeyGets401AndTheRightKeyAnswers) {
  Served s;
  s.with_key(kKey);
  Service svc(s.opt);
  Request q;
  q.path = "/v1/recommend";
  q.params = {{"user", "CO"}, {"k", "3"}};
  Response none = svc.handle(q);
  EXPECT_EQ(none.status, 401);
  EXPECT_EQ(nlohmann::json::parse(none.body)["field"], "authorization");
  ASSERT_FALSE(none.headers.empty());
  EXPECT_EQ(none.headers[0].first, "WWW-Authenticate");
  for (const char* wrong : {"Bearer 0123456789abcdef0123456789abcdee", "Bearer 0123456789abcdef", "Basic abc",
                            "Bearer ", "0123456789abcdef0123456789abcdef"}) {
    q.authorization = wrong;
    EXPECT_EQ(svc.handle(q).status, 401) << wrong;
  }
  q.authorization = std::string("Bearer ") + kKey;
  Response ok = svc.handle(q);
  EXPECT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(nlohmann::json::parse(ok.body)["items"].size(), 3u);
  // Liveness probes carry no credentials.
  Request health;
  health.path = "/healthz";
  EXPECT_EQ(svc.handle(health).status, 200);
  health.path = "/metrics";
  EXPECT_EQ(svc.handle(health).status, 401);
}

TEST(ServeAuth, KeyFilesThatCannotProtectAnythingAreRefused) {
  Served s;
  s.with_key("short");
  EXPECT_THROW(Service{s.opt}, InputError);
  s.with_key("   ");
  EXPECT_THROW(Service{s.opt}, InputError);
  s.opt.api_key_file = s.dir.path("absent");
  try {
    Service svc(s.opt);
    FAIL() << "a missing key file was accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("absent"), std::string::npos) << e.what();
  }
}

TEST(ServeAuth, RefusesToListenOffLoopbackWithoutAKeyUnlessInsecure) {
  EXPECT_TRUE(is_loopback("127.0.0.1"));
  EXPECT_TRUE(is_loopback("127.8.9.10"));
  EXPECT_TRUE(is_loopback("::1"));
  EXPECT_TRUE(is_loopback("localhost"));
  EXPECT_FALSE(is_loopback("0.0.0.0"));
  EXPECT_FALSE(is_loopback("::"));
  EXPECT_FALSE(is_loopback("10.0.0.1"));
  EXPECT_FALSE(is_loopback("example.com"));
  Served s;
  s.opt.host = "0.0.0.0";
  try {
    Server server(s.opt);
    FAIL() << "listened on 0.0.0.0 without a key";
  } catch (const ParamError& e) {
    EXPECT_NE(std::string(e.what()).find("--api-key-file"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("--insecure"), std::string::npos) << e.what();
  }
  s.opt.insecure = true;
  EXPECT_NO_THROW(Server{s.opt});
  s.opt.insecure = false;
  s.with_key(kKey);
  EXPECT_NO_THROW(Server{s.opt});
}

TEST(ServeAuth, TheKeyTravelsInTheHeaderOverHttp) {
  Served s;
  s.with_key(kKey);
  Running r(s.opt);
  httplib::Client c("127.0.0.1", r.server->port());
  c.set_connection_timeout(5, 0);
  auto health = c.Get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  auto denied = c.Get("/v1/recommend?user=CO&k=2");
  ASSERT_TRUE(denied);
  EXPECT_EQ(denied->status, 401);
  EXPECT_TRUE(denied->has_header("WWW-Authenticate"));
  c.set_bearer_token_auth(kKey);
  auto ok = c.Get("/v1/recommend?user=CO&k=2");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200) << ok->body;
}

// A self-signed certificate for 127.0.0.1 (subjectAltName IP), written as PEM files.
void make_certificate(const std::string& cert_path, const std::string& key_path) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  ASSERT_NE(key, nullptr);
  X509* x = X509_new();
  ASSERT_EQ(ASN1_INTEGER_set(X509_get_serialNumber(x), 1), 1);
  X509_gmtime_adj(X509_getm_notBefore(x), -60);
  X509_gmtime_adj(X509_getm_notAfter(x), 3600);
  X509_set_pubkey(x, key);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("mfkit test"), -1, -1, 0);
  X509_set_issuer_name(x, name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, x, x, nullptr, nullptr, 0);
  for (auto [nid, value] : {std::pair<int, const char*>{NID_subject_alt_name, "IP:127.0.0.1"},
                            {NID_basic_constraints, "critical,CA:TRUE"}}) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    ASSERT_NE(ext, nullptr);
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
  }
  ASSERT_GT(X509_sign(x, key, EVP_sha256()), 0);
  FILE* f = std::fopen(cert_path.c_str(), "w");
  ASSERT_NE(f, nullptr);
  PEM_write_X509(f, x);
  std::fclose(f);
  f = std::fopen(key_path.c_str(), "w");
  ASSERT_NE(f, nullptr);
  PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(f);
  X509_free(x);
  EVP_PKEY_free(key);
}

TEST(ServeTls, AnswersOverHttpsWithTheKeyAndRefusesPlainHttp) {
  Served s;
  s.with_key(kKey);
  s.opt.tls_cert = s.dir.path("cert.pem");
  s.opt.tls_key = s.dir.path("key.pem");
  make_certificate(s.opt.tls_cert, s.opt.tls_key);
  Running r(s.opt);
  httplib::SSLClient c("127.0.0.1", r.server->port());
  c.set_ca_cert_path(s.opt.tls_cert.c_str());
  c.enable_server_certificate_verification(true);
  c.set_connection_timeout(5, 0);
  c.set_bearer_token_auth(kKey);
  auto ok = c.Get("/v1/recommend?user=CO&k=2");
  ASSERT_TRUE(ok) << httplib::to_string(ok.error());
  EXPECT_EQ(ok->status, 200) << ok->body;
  EXPECT_EQ(nlohmann::json::parse(ok->body)["items"].size(), 2u);
  // A client that does not trust the certificate gets no answer; neither does plain HTTP.
  httplib::SSLClient untrusting("127.0.0.1", r.server->port());
  untrusting.enable_server_certificate_verification(true);
  untrusting.set_connection_timeout(5, 0);
  EXPECT_FALSE(untrusting.Get("/healthz"));
  httplib::Client plain("127.0.0.1", r.server->port());
  plain.set_connection_timeout(2, 0);
  plain.set_read_timeout(2, 0);
  auto p = plain.Get("/healthz");
  EXPECT_TRUE(!p || p->status != 200);
}

TEST(ServeTls, AnUnusableCertificateIsNamed) {
  Served s;
  s.opt.tls_cert = s.dir.file("cert.pem", "not a certificate\n");
  s.opt.tls_key = s.dir.file("key.pem", "not a key\n");
  try {
    Server server(s.opt);
    FAIL() << "started with a broken certificate";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("cert.pem"), std::string::npos) << e.what();
  }
  s.opt.tls_key = "";
  EXPECT_THROW(Server{s.opt}, ParamError);
}

}  // namespace
}  // namespace mfkit
