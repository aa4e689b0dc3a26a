// mfkit/serve.h - answering recommendation requests over HTTP (Boost.Beast).
//
// `Service` is the transport-free part: it holds the loaded models, answers a request given its
// path and query parameters with a status and a JSON body, keeps request counts and latency
// percentiles, and swaps in a model file that was replaced on disk (a new file renamed into
// place). Requests in flight keep the model they started with, so a reload drops none. `Server`
// puts a Service behind an event-driven HTTP(S) server (Boost.Beast): a slow or idle client
// holds a socket, never a worker thread, and every connection lives within the limits below.
//
// Endpoints (GET; every answer is JSON except the page):
//   /v1/recommend?user=U&k=10&filter_seen=true&exclude=i,j&candidates=i,j&model=NAME
//   /v1/recommend?items=i,j&values=5,4&k=10    fold-in of a new user (values default to 1)
//   /v1/similar?item=I&k=10   or  ?user=U
//   /v1/predict?user=U&item=I
//   /v1/query?q=Colombia x Turkey - Germany&k=10
//   /v1/entities?kind=users|items&prefix=Col&limit=20
//   /healthz, / (the web page)
//   /metrics        Prometheus text format (request counts, latency histograms, models, build)
//   /metrics.json   the same figures as JSON, with latency percentiles
// Errors: 400 (bad parameter), 401 (no or wrong API key), 404 (unknown id, model or path) and
// 405 (not GET or HEAD) with {"error": message, "field": name}; the service never exits on input.
// The server adds 408 (too slow), 413 (body too large), 414 (target too long), 431 (headers too
// large) and 503 (too many connections).
//
// Off loopback, a Server needs an API key (clients send `Authorization: Bearer <key>`; /healthz
// needs none) or an explicit `insecure`; with a certificate and key it speaks HTTPS.
#pragma once

#include <nlohmann/json.hpp>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace mfkit {

struct ServeOptions {
  std::string host = "127.0.0.1";                           // address to listen on
  int port = 8080;                                          // TCP port; 0 = any free port (see Server::port())
  std::vector<std::pair<std::string, std::string>> models;  // (name, model file); the first is the default
  int threads = 8;                                          // HTTP worker threads (each request runs single-threaded)
  int reload_ms = 1000;           // how often model files are checked for replacement; 0 = never
  int max_k = 1000;               // largest k accepted
  int max_query_length = 1000;    // longest /v1/query expression accepted, in bytes
  bool quiet = false;             // no log lines on stderr
  bool exact = false;             // scan every item even for models with an approximate index (?exact= overrides)
  std::string api_key_file;       // file holding the API key every request but /healthz must carry ("" = none)
  bool insecure = false;          // allow a non-loopback host without an API key
  std::string tls_cert, tls_key;  // PEM certificate (chain) and private key: serve HTTPS instead of HTTP
  // Limits that keep slow, idle or oversized clients from holding the server (docs/security.md).
  int max_connections = 1024;      // open connections; past it a new one is answered 503 and closed
  int request_timeout_ms = 10000;  // a request's headers and body must arrive within this (from the
                                   // connection's start or the previous answer); else it is closed
  int idle_timeout_ms = 5000;      // a kept-alive connection with no new request is closed after this
  int max_body_bytes = 65536;      // a larger body (sized or chunked) gets 413 before it is read
};

/// Connection counts kept by the Server and reported by the Service's /metrics.
struct ConnectionStats {
  int64_t open = 0;        // connections open now
  uint64_t accepted = 0;   // connections accepted since start
  uint64_t refused = 0;    // answered 503 (or closed, over TLS) because max_connections were open
  uint64_t timed_out = 0;  // closed because a request or an idle wait outlasted its limit
};

struct Request {
  std::string method = "GET";
  std::string path;
  std::multimap<std::string, std::string> params;  // query parameters
  std::string authorization;                       // the Authorization header ("" = none)
};

struct Response {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;  // more response headers
};

using Params = std::multimap<std::string, std::string>;

class Service {
 public:
  /// Loads every model; Error when one cannot be loaded (a server must start with valid models).
  explicit Service(ServeOptions opt);
  ~Service();

  /// Answers one request (checking its method and API key). Never throws.
  Response handle(const Request& request);
  /// The answer to a request refused by its method or API key alone (405, 401), or no value when
  /// it may go on: the server asks before reading a body, so an unauthorised client cannot make
  /// it read one. Counted in the metrics when refused.
  std::optional<Response> admit(const Request& request);
  /// A JSON error answer {"error", "field"} for a request the transport refused (malformed, too
  /// large, too slow), counted in the metrics like the service's own answers.
  Response error(int status, const std::string& field, const std::string& message);
  /// Where the Server keeps its connection counts (read by metrics()).
  void set_connection_stats(std::function<ConnectionStats()> stats);
  /// A GET request without credentials.
  Response handle(const std::string& path, const Params& params);
  /// Reloads model files whose identity (inode, size, mtime) changed. A file that fails to load
  /// is logged and counted; the previous model stays in service. Returns how many reloaded.
  int reload_changed();
  /// Request counts, status classes, latency percentiles (per endpoint), reloads.
  nlohmann::json metrics() const;
  /// The same in the Prometheus text exposition format, with latency histograms.
  std::string metrics_text() const;
  const ServeOptions& options() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

class Server {
 public:
  /// Loads the models and binds the address; Error when either fails.
  explicit Server(ServeOptions opt);
  ~Server();
  /// The bound port (useful with port 0).
  int port() const;
  /// Serves until stop() is called (from another thread or a signal handler thread).
  void run();
  void stop();
  Service& service();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mfkit
