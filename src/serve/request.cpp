#include "serve/request.h"

#include <boost/asio/buffer.hpp>
#include <boost/beast/http.hpp>

namespace mfkit {

namespace http = boost::beast::http;

namespace {

int hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// %XX escapes decoded (and '+' as a space in a query); false on a malformed escape.
bool percent_decode(std::string_view in, bool plus_is_space, std::string& out) {
  out.clear();
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) return false;
      const int hi = hex(in[i + 1]), lo = hex(in[i + 2]);
      if (hi < 0 || lo < 0) return false;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      out.push_back(plus_is_space && c == '+' ? ' ' : c);
    }
  }
  return true;
}

}  // namespace

bool decode_target(std::string_view target, Request& out, std::string* error) {
  if (target.empty() || target.front() != '/') {
    *error = "the request target must be a path starting with '/'";
    return false;
  }
  const size_t q = target.find('?');
  if (!percent_decode(target.substr(0, q), false, out.path)) {
    *error = "the path holds a malformed %-escape";
    return false;
  }
  out.params.clear();
  if (q == std::string_view::npos) return true;
  std::string_view query = target.substr(q + 1);
  const size_t hash = query.find('#');
  if (hash != std::string_view::npos) query = query.substr(0, hash);
  std::string key, value;
  while (!query.empty()) {
    const size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    const size_t eq = pair.find('=');
    if (!percent_decode(pair.substr(0, eq), true, key) ||
        !percent_decode(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1), true, value)) {
      *error = "the query holds a malformed %-escape";
      return false;
    }
    out.params.emplace(key, value);
  }
  return true;
}

bool to_request(Service& svc, const http::request<http::string_body>& m, Request& q, Response* refusal) {
  q.method = std::string(m.method_string());
  q.authorization = std::string(m[http::field::authorization]);
  if (m.target().size() > kTargetLimit) {
    *refusal =
        svc.error(414, "request", "the request target is longer than " + std::to_string(kTargetLimit) + " bytes");
    return false;
  }
  std::string why;
  if (!decode_target(std::string_view(m.target().data(), m.target().size()), q, &why)) {
    *refusal = svc.error(400, "request", why);
    return false;
  }
  return true;
}

Response answer_bytes(Service& service, std::string_view bytes) {
  http::request_parser<http::string_body> parser;
  parser.header_limit(kHeaderLimit);
  parser.body_limit(static_cast<uint64_t>(service.options().max_body_bytes));
  parser.eager(true);
  boost::beast::error_code ec;
  size_t used = 0;
  while (used < bytes.size() && !parser.is_done()) {
    const size_t n = parser.put(boost::asio::buffer(bytes.data() + used, bytes.size() - used), ec);
    if (ec == http::error::need_more) break;
    if (ec) break;
    if (n == 0) break;
    used += n;
  }
  if (!parser.is_done() && !ec && parser.got_some()) parser.put_eof(ec);  // a connection closed after these bytes
  if (ec == http::error::header_limit) return service.error(431, "request", "headers too large");
  if (ec == http::error::body_limit) return service.error(413, "body", "body too large");
  if (ec || !parser.is_header_done()) return service.error(400, "request", "malformed HTTP request");
  Request q;
  Response refusal;
  if (!to_request(service, parser.get(), q, &refusal)) return refusal;
  return service.handle(q);
}

}  // namespace mfkit
