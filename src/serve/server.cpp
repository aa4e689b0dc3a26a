// mfkit serve: a Service behind an event-driven HTTP(S) server (Boost.Beast over Asio, OpenSSL
// for TLS), with a reload watcher.
//
// Every connection is a chain of asynchronous reads and writes on a pool of `threads` threads;
// a connection waiting for bytes holds a socket and a deadline, never a thread. So a slow client
// (slowloris), an idle kept-alive one or a large body cannot starve the others: each request's
// headers and body must arrive within request_timeout_ms, a kept-alive connection with no new
// request is closed after idle_timeout_ms, bodies are capped (chunked ones too) and the API key
// is checked before any body is read, and past max_connections a new connection gets 503.
#include <spdlog/spdlog.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <atomic>
#include <condition_variable>
#include <limits>
#include <mutex>
#include <thread>

#include "data/text_file.h"
#include "mfkit/error.h"
#include "mfkit/model.h"
#include "mfkit/serve.h"
#include "serve/auth.h"
#include "serve/request.h"

namespace mfkit {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

namespace {

constexpr int kBacklog = 4096;  // pending connections the kernel keeps (capped by somaxconn)

struct Counters {
  std::atomic<int64_t> open{0};
  std::atomic<uint64_t> accepted{0}, refused{0}, timed_out{0};
};

// What every connection shares: the service, the limits and the counts.
struct Shared {
  Service& service;
  const ServeOptions& opt;
  Counters& counters;
};

// The Beast response for a Service response; a HEAD answer keeps the length but not the body.
http::response<http::string_body> to_beast(Response&& r, unsigned version, bool keep_alive, bool head) {
  http::response<http::string_body> res{static_cast<http::status>(r.status), version};
  res.set(http::field::server, "mfkit");
  res.set(http::field::content_type, r.content_type);
  for (auto& [name, value] : r.headers) res.set(name, value);
  res.keep_alive(keep_alive);
  res.body() = std::move(r.body);
  res.prepare_payload();
  if (head) res.body().clear();  // Content-Length stays that of the GET answer
  return res;
}

// One connection over a plain or TLS stream: read a request's headers, admit it, read its body,
// answer, and again while the client keeps the connection alive.
template <class Stream>
class Connection : public std::enable_shared_from_this<Connection<Stream>> {
 public:
  Connection(Stream&& stream, Shared shared) : stream_(std::move(stream)), s_(shared) {
    s_.counters.open++;
    s_.counters.accepted++;
  }
  ~Connection() { s_.counters.open--; }

  void start() {
    if constexpr (std::is_same_v<Stream, beast::tcp_stream>) {
      read_header(true);
    } else {
      beast::get_lowest_layer(stream_).expires_after(std::chrono::milliseconds(s_.opt.request_timeout_ms));
      stream_.async_handshake(ssl::stream_base::server, [self = this->shared_from_this()](beast::error_code ec) {
        if (ec) return self->note_timeout(ec);  // not TLS, or too slow: closed
        self->read_header(true);
      });
    }
  }

 private:
  auto& tcp() { return beast::get_lowest_layer(stream_); }

  void note_timeout(beast::error_code ec) {
    if (ec == beast::error::timeout) s_.counters.timed_out++;
  }

  // The first request has request_timeout_ms from the connection's start; a later one on the
  // same connection has idle_timeout_ms to arrive whole (a kept-alive client that is merely
  // idle is closed after it, and one that trickles bytes gains nothing).
  void read_header(bool first) {
    parser_.emplace();
    parser_->header_limit(kHeaderLimit);
    parser_->body_limit(std::numeric_limits<uint64_t>::max());  // set once the headers are in (see on_header)
    tcp().expires_after(std::chrono::milliseconds(first ? s_.opt.request_timeout_ms : s_.opt.idle_timeout_ms));
    http::async_read_header(stream_, buffer_, *parser_,
                            [self = this->shared_from_this()](beast::error_code ec, size_t) { self->on_header(ec); });
  }

  void on_header(beast::error_code ec) {
    if (ec == http::error::end_of_stream || ec == net::error::eof || ec == net::error::connection_reset) return close();
    if (ec == beast::error::timeout) {
      s_.counters.timed_out++;
      if (buffer_.size() == 0 && parser_->got_some() == false) return close();  // idle: nothing to answer
      return answer(s_.service.error(408, "request", "the request did not arrive within the time allowed"), false);
    }
    if (ec == http::error::header_limit)
      return answer(
          s_.service.error(431, "request",
                           "the request's headers are larger than " + std::to_string(kHeaderLimit) + " bytes"),
          false);
    if (ec) return answer(s_.service.error(400, "request", "malformed HTTP request (" + ec.message() + ")"), false);
    const auto& m = parser_->get();
    head_ = m.method() == http::verb::head;
    Response refusal;
    if (!to_request(s_.service, m, request_, &refusal)) return answer(std::move(refusal), false);
    const auto length = parser_->content_length();
    if (parser_->chunked() || (length && *length > 0)) {
      // Method and key first: a client that may not ask is not read any further. Then the size:
      // a declared one at once, a chunked one as it arrives.
      if (std::optional<Response> no = s_.service.admit(request_)) return answer(std::move(*no), false);
      if (length && *length > static_cast<uint64_t>(s_.opt.max_body_bytes)) return answer(too_large(), false);
      parser_->body_limit(static_cast<uint64_t>(s_.opt.max_body_bytes));
    }
    if (parser_->is_done()) return on_request();
    // The body, within what is left of the request's time.
    http::async_read(stream_, buffer_, *parser_, [self = this->shared_from_this()](beast::error_code ec, size_t) {
      if (ec == http::error::body_limit) return self->answer(self->too_large(), false);
      if (ec == beast::error::timeout) {
        self->s_.counters.timed_out++;
        return self->answer(
            self->s_.service.error(408, "request", "the request body did not arrive within the time allowed"), false);
      }
      if (ec) return self->close();
      self->on_request();
    });
  }

  Response too_large() {
    return s_.service.error(413, "body",
                            "the request body is larger than " + std::to_string(s_.opt.max_body_bytes) + " bytes");
  }

  void on_request() {
    const bool keep = parser_->get().keep_alive();
    answer(s_.service.handle(request_), keep);
  }

  void answer(Response&& r, bool keep_alive) {
    const unsigned version = parser_ && parser_->is_header_done() ? parser_->get().version() : 11;
    response_ = to_beast(std::move(r), version, keep_alive, head_);
    tcp().expires_after(std::chrono::milliseconds(s_.opt.request_timeout_ms));  // a client that does not read
    http::async_write(stream_, response_, [self = this->shared_from_this(), keep_alive](beast::error_code ec, size_t) {
      if (ec) return self->note_timeout(ec), self->close();
      if (!keep_alive) return self->close();
      self->head_ = false;
      self->read_header(false);
    });
  }

  void close() {
    beast::error_code ec;
    if constexpr (std::is_same_v<Stream, beast::tcp_stream>) {
      stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
      // What the client still sends (a refused body) is read and dropped for a moment, so that
      // the kernel does not reset the connection before the client has read the answer.
      tcp().expires_after(std::chrono::seconds(1));
      drain();
    } else {
      // A TLS close_notify, bounded in time; the socket closes with the connection either way.
      tcp().expires_after(std::chrono::seconds(2));
      stream_.async_shutdown([self = this->shared_from_this()](beast::error_code) {});
    }
  }

  void drain() {
    if (drained_ > (1u << 20)) return;
    scratch_.resize(16384);
    stream_.async_read_some(net::buffer(scratch_), [self = this->shared_from_this()](beast::error_code ec, size_t n) {
      self->drained_ += n;
      if (!ec) self->drain();
    });
  }

  Stream stream_;
  Shared s_;
  std::vector<char> scratch_;
  size_t drained_ = 0;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> response_;
  Request request_;
  bool head_ = false;
};

// A connection past max_connections: one 503 written with a short deadline, then closed.
class Refusal : public std::enable_shared_from_this<Refusal> {
 public:
  explicit Refusal(tcp::socket&& s) : stream_(std::move(s)) {}
  void start(std::string body) {
    res_ = {http::status::service_unavailable, 11};
    res_.set(http::field::content_type, "application/json");
    res_.set(http::field::retry_after, "1");
    res_.keep_alive(false);
    res_.body() = std::move(body);
    res_.prepare_payload();
    stream_.expires_after(std::chrono::seconds(2));
    http::async_write(stream_, res_, [self = shared_from_this()](beast::error_code, size_t) {
      beast::error_code ec;
      self->stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    });
  }

 private:
  beast::tcp_stream stream_;
  http::response<http::string_body> res_;
};

// Off loopback the server must know who is asking, unless told plainly not to.
void check_exposure(const ServeOptions& o) {
  if (o.tls_cert.empty() != o.tls_key.empty())
    throw ParamError("serve: TLS needs both a certificate (--tls-cert) and its private key (--tls-key)");
  if (is_loopback(o.host) || !o.api_key_file.empty() || o.insecure) return;
  throw ParamError(
      "serve: --host " + o.host +
      " can be reached from other machines, and every user's recommendations with it; give "
      "--api-key-file FILE (clients send Authorization: Bearer <key>), or --insecure to serve without one");
}

void check_limits(const ServeOptions& o) {
  if (o.threads < 1 || o.threads > 1024) throw ParamError("serve: threads must be in [1, 1024]");
  if (o.max_connections < 1 || o.max_connections > 1000000)
    throw ParamError("serve: max_connections must be in [1, 1000000]");
  if (o.request_timeout_ms < 100 || o.request_timeout_ms > 3600000)
    throw ParamError("serve: request_timeout_ms must be in [100, 3600000]");
  if (o.idle_timeout_ms < 100 || o.idle_timeout_ms > 3600000)
    throw ParamError("serve: idle_timeout_ms must be in [100, 3600000]");
  if (o.max_body_bytes < 0 || o.max_body_bytes > (1 << 30))
    throw ParamError("serve: max_body_bytes must be in [0, 2^30]");
}

std::unique_ptr<ssl::context> make_tls(const ServeOptions& o) {
  if (o.tls_cert.empty()) return nullptr;
  for (const std::string& f : {o.tls_cert, o.tls_key}) read_file(f, 1 << 20);  // names a missing or odd file
  auto ctx = std::make_unique<ssl::context>(ssl::context::tls_server);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                   ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 | ssl::context::single_dh_use);
  try {
    ctx->use_certificate_chain_file(o.tls_cert);
    ctx->use_private_key_file(o.tls_key, ssl::context::pem);
  } catch (const boost::system::system_error&) {
    throw InputError(o.tls_cert, 0, "not a usable TLS certificate and key (PEM; the key must match " + o.tls_key + ")");
  }
  if (SSL_CTX_check_private_key(ctx->native_handle()) != 1)
    throw InputError(o.tls_cert, 0, "not a usable TLS certificate and key (PEM; the key must match " + o.tls_key + ")");
  return ctx;
}

}  // namespace

struct Server::Impl {
  Service service;  // declared before the io context: connections still queued at its end use it
  Counters counters;
  std::unique_ptr<ssl::context> tls;
  // One event loop per thread, each connection on one of them (round robin): no lock shared by
  // every request, as one loop run by many threads would have. The acceptor lives on the first.
  std::vector<std::unique_ptr<net::io_context>> loops;
  size_t next_loop = 0;
  std::unique_ptr<tcp::acceptor> acceptor;
  int port = 0;
  std::mutex m;
  std::condition_variable cv;
  bool stopping = false;
  std::thread watcher;

  explicit Impl(ServeOptions opt) : service(std::move(opt)) {
    for (int t = 0; t < service.options().threads; ++t) loops.push_back(std::make_unique<net::io_context>(1));
    acceptor = std::make_unique<tcp::acceptor>(*loops[0]);
  }

  void accept() {
    net::io_context& loop = *loops[next_loop++ % loops.size()];
    acceptor->async_accept(loop, [this](beast::error_code ec, tcp::socket socket) {
      if (ec == net::error::operation_aborted || !acceptor->is_open()) return;  // stopping
      if (!ec) admit(std::move(socket));
      accept();
    });
  }

  void admit(tcp::socket&& socket) {
    const ServeOptions& o = service.options();
    beast::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    if (counters.open.load() >= o.max_connections) {
      counters.refused++;
      if (tls) return;  // no HTTP without a handshake: the socket just closes
      std::make_shared<Refusal>(std::move(socket))
          ->start(service
                      .error(503, "connection",
                             "the server has " + std::to_string(o.max_connections) + " connections open; try again")
                      .body);
      return;
    }
    Shared shared{service, o, counters};
    if (tls) {
      std::make_shared<Connection<beast::ssl_stream<beast::tcp_stream>>>(
          beast::ssl_stream<beast::tcp_stream>(std::move(socket), *tls), shared)
          ->start();
    } else {
      std::make_shared<Connection<beast::tcp_stream>>(beast::tcp_stream(std::move(socket)), shared)->start();
    }
  }
};

Server::Server(ServeOptions opt) {
  check_limits(opt);
  check_exposure(opt);
  auto tls = make_tls(opt);
  impl_ = std::make_unique<Impl>(std::move(opt));
  impl_->tls = std::move(tls);
  const ServeOptions& o = impl_->service.options();
  set_neural_threads(1);  // each request runs on one server thread: no nested threads
  Counters* c = &impl_->counters;
  impl_->service.set_connection_stats([c] {
    return ConnectionStats{c->open.load(), c->accepted.load(), c->refused.load(), c->timed_out.load()};
  });
  const std::string where = o.host + ":" + std::to_string(o.port);
  try {
    tcp::resolver resolver(*impl_->loops[0]);
    const tcp::endpoint ep = *resolver.resolve(o.host, std::to_string(o.port), tcp::resolver::passive).begin();
    impl_->acceptor->open(ep.protocol());
    impl_->acceptor->set_option(net::socket_base::reuse_address(true));
    impl_->acceptor->bind(ep);
    impl_->acceptor->listen(kBacklog);
    impl_->port = impl_->acceptor->local_endpoint().port();
  } catch (const boost::system::system_error& e) {
    throw Error("serve: cannot listen on " + where + " (" + e.code().message() +
                "; in use, or not an address of this machine)");
  }
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
  {
    std::lock_guard<std::mutex> lock(impl_->m);
    if (impl_->stopping) return;
  }
  impl_->accept();
  std::vector<std::thread> pool;
  // Each loop runs until stop(); a work guard keeps a loop with no connection yet alive.
  std::vector<net::executor_work_guard<net::io_context::executor_type>> guards;
  for (auto& loop : impl_->loops) guards.push_back(net::make_work_guard(*loop));
  for (size_t t = 1; t < impl_->loops.size(); ++t) pool.emplace_back([this, t] { impl_->loops[t]->run(); });
  impl_->loops[0]->run();
  for (auto& t : pool) t.join();
}

void Server::stop() {
  {
    std::lock_guard<std::mutex> lock(impl_->m);
    impl_->stopping = true;
  }
  impl_->cv.notify_all();
  for (auto& loop : impl_->loops) loop->stop();
}

}  // namespace mfkit
