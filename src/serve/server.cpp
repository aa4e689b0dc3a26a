// mfkit serve: cpp-httplib around a Service, with a bounded thread pool and a reload watcher.
#include <httplib.h>
#include <spdlog/spdlog.h>

#include <condition_variable>
#include <thread>

#include "mfkit/error.h"
#include "mfkit/model.h"
#include "mfkit/serve.h"

namespace mfkit {

struct Server::Impl {
  Service service;
  httplib::Server http;
  int port = 0;
  std::mutex m;
  std::condition_variable cv;
  bool stopping = false;
  std::thread watcher;

  explicit Impl(ServeOptions opt) : service(std::move(opt)) {}
};

Server::Server(ServeOptions opt) : impl_(std::make_unique<Impl>(std::move(opt))) {
  const ServeOptions& o = impl_->service.options();
  if (o.threads < 1 || o.threads > 1024) throw ParamError("serve: threads must be in [1, 1024]");
  auto& http = impl_->http;
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
    Params params(req.params.begin(), req.params.end());
    Response r = svc->handle(req.path, params);
    res.status = r.status;
    res.set_content(std::move(r.body), r.content_type.c_str());
  };
  auto refuse = [](const httplib::Request& req, httplib::Response& res) {
    res.status = 405;
    res.set_header("Allow", "GET");
    res.set_content(R"({"error":"only GET is supported","field":"method"})", "application/json");
  };
  http.Get(R"(/.*)", answer);
  http.Post(R"(/.*)", refuse);
  http.Put(R"(/.*)", refuse);
  http.Delete(R"(/.*)", refuse);
  http.Patch(R"(/.*)", refuse);
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
  impl_->http.listen_after_bind();
}

void Server::stop() {
  {
    std::lock_guard<std::mutex> lock(impl_->m);
    impl_->stopping = true;
  }
  impl_->cv.notify_all();
  impl_->http.stop();
}

}  // namespace mfkit
