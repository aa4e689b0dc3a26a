// mfkit/error.h - the exceptions mfkit throws for user errors.
//
// Every error a user can cause (a malformed input line, a bad parameter, a damaged model file,
// an unknown id or name) is thrown as a subclass of mfkit::Error whose message says what was
// wrong and where. A broken internal invariant (a bug in mfkit, whatever the input) is an
// InternalError instead, which is not an mfkit::Error: the CLI exits 3 on it, 1 on user errors.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

namespace mfkit {

/// Base of all mfkit exceptions. what() is a complete, human-readable message.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& msg) : std::runtime_error(msg) {}
};

/// A problem in an input data file: carries the file and 1-based line (0 = whole file).
class InputError : public Error {
 public:
  InputError(std::string file, int64_t line, const std::string& problem);
  const std::string& file() const { return file_; }
  int64_t line() const { return line_; }
  const std::string& problem() const { return problem_; }

 private:
  std::string file_;
  int64_t line_;
  std::string problem_;
};

/// A parameter or option outside its allowed values; the message names it and the range.
class ParamError : public Error {
 public:
  using Error::Error;
};

/// A model file that cannot be read: wrong magic, unsupported version, truncated, bad checksum.
class ModelFileError : public Error {
 public:
  ModelFileError(const std::string& path, const std::string& problem) : Error(path + ": " + problem) {}
};

/// A name or id that is not known (dataset, model type, user, item).
class NotFoundError : public Error {
 public:
  using Error::Error;
};

/// Training diverged (NaN or infinite loss); the model is left unsaved.
class DivergedError : public Error {
 public:
  using Error::Error;
};

/// A broken internal invariant: mfkit's bug, not the caller's (src/core/check.h's MFKIT_CHECK).
/// what() names the source file and line, the condition and what it protects.
class InternalError : public std::logic_error {
 public:
  explicit InternalError(const std::string& msg) : std::logic_error(msg) {}
};

}  // namespace mfkit
