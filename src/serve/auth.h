// Internal: who may talk to mfkit serve (a bearer API key) and where it may listen.
#pragma once

#include <array>
#include <string>

namespace mfkit {

class ApiKey {
 public:
  /// The key in `path` (its content, surrounding whitespace trimmed). InputError naming the file
  /// when it cannot be read, is empty, or is shorter than 16 characters (too easy to guess).
  static ApiKey from_file(const std::string& path);
  /// True when `authorization` (an Authorization header) is "Bearer <key>". SHA-256 digests are
  /// compared in constant time, so the time taken says nothing about the key, not even its length.
  bool accepts(const std::string& authorization) const;

 private:
  std::array<unsigned char, 32> digest_{};
};

/// True for addresses only this machine can reach: 127.0.0.0/8, ::1, localhost.
bool is_loopback(const std::string& host);

}  // namespace mfkit
