// Internal to mfkit serve: from an HTTP request's bytes to a Service::Request, and the limits a
// connection lives within. Used by the server (src/serve/server.cpp) and by the fuzz target of
// the request path (fuzz/fuzz_http.cpp), so both read requests the same way.
#pragma once

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <string>
#include <string_view>

#include "mfkit/serve.h"

namespace mfkit {

constexpr size_t kHeaderLimit = 32 * 1024;  ///< request line and headers together (431 past it)
constexpr size_t kTargetLimit = 8 * 1024;   ///< the request target alone (414 past it)

/// Splits a request target ("/v1/recommend?user=CO&k=5") into its path and query parameters,
/// percent-decoded ('+' in the query is a space). False, with the reason in *error, when the
/// target does not start with '/' or holds a malformed %-escape.
bool decode_target(std::string_view target, Request& out, std::string* error);

/// The Service's Request for a parsed HTTP request; false with the 4xx answer in *refusal when
/// the target is too long or malformed.
bool to_request(Service& svc, const boost::beast::http::request<boost::beast::http::string_body>& m, Request& q,
                Response* refusal);

/// Answers one request given as raw bytes (request line, headers, body) the way the server does:
/// parsed with the server's parser and limits, then handled by `service`. For the fuzzer and
/// tests; a malformed request gets the 4xx the server would send.
Response answer_bytes(Service& service, std::string_view bytes);

}  // namespace mfkit
