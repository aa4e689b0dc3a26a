#include "serve/auth.h"

#include <arpa/inet.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "data/text_file.h"
#include "mfkit/error.h"

namespace mfkit {

namespace {

std::array<unsigned char, 32> sha256(const std::string& s) {
  std::array<unsigned char, 32> d{};
  unsigned int n = 0;
  if (EVP_Digest(s.data(), s.size(), d.data(), &n, EVP_sha256(), nullptr) != 1 || n != d.size())
    throw Error("serve: SHA-256 failed (OpenSSL)");
  return d;
}

std::string trim(const std::string& s) {
  const char* ws = " \t\r\n";
  size_t a = s.find_first_not_of(ws);
  if (a == std::string::npos) return "";
  return s.substr(a, s.find_last_not_of(ws) - a + 1);
}

}  // namespace

ApiKey ApiKey::from_file(const std::string& path) {
  std::string key = trim(read_file(path, 4096));  // names a folder, a device or a missing file
  if (key.empty()) throw InputError(path, 0, "the API key file is empty");
  if (key.size() < 16)
    throw InputError(path, 0,
                     "the API key is " + std::to_string(key.size()) +
                         " characters; use at least 16 (e.g. openssl rand -hex 32 > " + path + ")");
  if (key.find_first_of(" \t\r\n") != std::string::npos)
    throw InputError(path, 0, "the API key holds whitespace; give one token on one line");
  ApiKey k;
  k.digest_ = sha256(key);
  return k;
}

bool ApiKey::accepts(const std::string& authorization) const {
  static const std::string kScheme = "Bearer ";
  std::string token =
      authorization.compare(0, kScheme.size(), kScheme) == 0 ? authorization.substr(kScheme.size()) : "";
  std::array<unsigned char, 32> d = sha256(token);
  return !token.empty() && CRYPTO_memcmp(d.data(), digest_.data(), d.size()) == 0;
}

bool is_loopback(const std::string& host) {
  if (host == "localhost") return true;
  unsigned char buf[16];
  if (inet_pton(AF_INET, host.c_str(), buf) == 1) return buf[0] == 127;
  if (inet_pton(AF_INET6, host.c_str(), buf) == 1) {
    for (int b = 0; b < 15; ++b)
      if (buf[b] != 0) return false;
    return buf[15] == 1;
  }
  return false;
}

}  // namespace mfkit
