#include "data/digest.h"

#include <openssl/evp.h>

#include "mfkit/error.h"

namespace mfkit {

struct Digest::Impl {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  ~Impl() { EVP_MD_CTX_free(ctx); }
};

Digest::Digest(const std::string& algorithm) : impl_(std::make_unique<Impl>()) {
  const EVP_MD* md = algorithm == "sha256" ? EVP_sha256() : algorithm == "md5" ? EVP_md5() : nullptr;
  if (!md) throw ParamError("digest: unknown algorithm '" + algorithm + "' (sha256|md5)");
  EVP_DigestInit_ex(impl_->ctx, md, nullptr);
}

Digest::~Digest() = default;

void Digest::update(const void* data, size_t n) { EVP_DigestUpdate(impl_->ctx, data, n); }

std::string Digest::hex() {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(impl_->ctx, out, &len);
  static const char* digits = "0123456789abcdef";
  std::string s;
  for (unsigned i = 0; i < len; ++i) {
    s.push_back(digits[out[i] >> 4]);
    s.push_back(digits[out[i] & 15]);
  }
  return s;
}

}  // namespace mfkit
