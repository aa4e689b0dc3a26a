// Internal: hex message digests (OpenSSL EVP), fed in pieces.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

namespace mfkit {

class Digest {
 public:
  /// "sha256" or "md5"; ParamError for anything else.
  explicit Digest(const std::string& algorithm);
  ~Digest();
  void update(const void* data, size_t n);
  void update(const std::string& s) { update(s.data(), s.size()); }
  /// Lower-case hex of the digest; call once, at the end.
  std::string hex();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mfkit
