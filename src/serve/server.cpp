// mfkit serve: cpp-httplib (HTTP, or HTTPS through its OpenSSL server) around a Service, with a
// bounded thread pool and a reload watcher.
#include <httplib.h>
#include <spdlog/spdlog.h>

#include <condition_variable>
#include <fstream>
#include <thread>

#include "mfkit/error.h"
#include "mfkit/model.h"
#include "mfkit/serve.h"
#include "serve/auth.h"

namespace mfkit {

struct Server::Impl {
  Service service;
  std::unique_ptr<httplib::Server> http;
  int port = 0;
  std::mutex m;
  std::condition_variable cv;
  bool stopping = false;
  std::thread watcher;

  explicit Impl(ServeOptions opt) : service(std::move(opt)) {}
};

namespace {

// Off loopback the server must know who is asking, unless told plainly not to.
void check_exposure(const ServeOptions& o) {
  if (o.tls_cert.empty() != o.tls_key.empty())
    throw ParamError("serve: TLS needs both a certificate (--tls-cert) and its private key (--tls-key)");
  if (is_loopback(o.host) || !o.api_key_file.empty() || o.insecure) return;
  throw ParamError("serve: --host " + o.host +
                   " can be reached from other machines, and every user's recommendations with it; give "
                   "--api-key-file FILE (clients send Authorization: Bearer <key>), or --insecure to serve without one");
}

std::unique_ptr<httplib::Server> make_http(const ServeOptions& o) {
  if (o.tls_cert.empty()) return std::make_unique<httplib::Server>();
  for (const std::string& f : {o.tls_cert, o.tls_key})
    if (!std::ifstream(f)) throw InputError(f, 0, "cannot read this TLS file");
  auto tls = std::make_unique<httplib::SSLServer>(o.tls_cert.c_str(), o.tls_key.c_str());
  if (!tls->is_valid())
    throw InputError(o.tls_cert, 0, "not a usable TLS certificate and key (PEM; the key must match " + o.tls_key + ")");
  return tls;
}

}  // namespace

Server::Server(ServeOptions opt) {
  if (opt.threads < 1 || opt.threads > 1024) throw ParamError("serve: threads must be in [1, 1024]");
  check_exposure(opt);
  auto http_ptr = make_http(opt);
  impl_ = std::make_unique<Impl>(std::move(opt));
  impl_->http = std::move(http_ptr);
  const ServeOptions& o = impl_->service.options();
  auto& http = *impl_->http;
  set_neural_threads(1);  // each request runs on one HTTP worker thread: no nested threads
  int threads = o.threads;
  http.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  http.set_keep_alive_max_count(100000);
  http.set_tcp_nodelay(true);
  http.set_payload_max_length(64 * 1024);
  http.set_read_timeout(5, 0);
  http.set_write_timeout(5, 0);
  Service* svc = &impl_->service;
  auto answer = [svc](const httplib::Request& req, httplib::Response& res) {
    Request q;
    q.method = req.method;
    q.path = req.path;
    q.params = Params(req.params.begin(), req.params.end());
    q.authorization = req.get_header_value("Authorization");
    Response r = svc->handle(q);
    res.status = r.status;
    for (auto& [name, value] : r.headers) res.set_header(name.c_str(), value);
    res.set_content(std::move(r.body), r.content_type.c_str());
  };
  http.Get(R"(/.*)", answer);
  http.Post(R"(/.*)", answer);
  http.Put(R"(/.*)", answer);
  http.Delete(R"(/.*)", answer);
  http.Patch(R"(/.*)", answer);
  // Errors httplib produces itself (414 URI too long, 413 payload, 400 malformed) get a JSON body.
  http.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (res.body.empty())
      res.set_content("{\"error\":\"bad request (HTTP " + std::to_string(res.status) + ")\",\"field\":\"request\"}",
                      "application/json");
  });
  http.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
    res.status = 500;
    res.set_content(R"({"error":"internal error"})", "application/json");
  });
  impl_->port = o.port == 0 ? http.bind_to_any_port(o.host.c_str()) : (http.bind_to_port(o.host.c_str(), o.port) ? o.port : -1);
  if (impl_->port < 0) throw Error("serve: cannot listen on " + o.host + ":" + std::to_string(o.port) + " (in use or not an address of this machine)");
}

Server::~Server() {
  stop();
  if (impl_->watcher.joinable()) impl_->watcher.join();
}

int Server::port() const { return impl_->port; }
Service& Server::service() { return impl_->service; }

void Server::run() {
  int every = impl_->service.options().reload_ms;
  if (every > 0 && !impl_->watcher.joinable()) {
    impl_->watcher = std::thread([this, every] {
      std::unique_lock<std::mutex> lock(impl_->m);
      while (!impl_->stopping) {
        impl_->cv.wait_for(lock, std::chrono::milliseconds(every));
        if (impl_->stopping) break;
        lock.unlock();
        impl_->service.reload_changed();
        lock.lock();
      }
    });
  }
  impl_->http->listen_after_bind();
}

void Server::stop() {
  {
    std::lock_guard<std::mutex> lock(impl_->m);
    impl_->stopping = true;
  }
  impl_->cv.notify_all();
  impl_->http->stop();
}

}  // namespace mfkit
