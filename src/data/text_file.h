// Internal helpers for reading delimited text files line by line.
#pragma once

#include <sys/stat.h>

#include <string>
#include <string_view>
#include <vector>

#include "core/strings.h"  // ascii_lower, used with these readers

namespace mfkit {

/// Opens `path` for reading: a regular file, or a pipe (FIFO) when `allow_pipe`. InputError(path,
/// 0, ...) saying which when it is missing, unreadable, a folder, a device or a socket (a device
/// such as /dev/zero would be read for ever). Returns the descriptor; `st` receives its stat.
int open_input(const std::string& path, struct stat& st, bool allow_pipe = true);

/// Reads a whole file (open_input's checks); InputError(path, 0, ...) when it cannot be opened or
/// read, or holds more than `max_bytes`.
std::string read_file(const std::string& path, size_t max_bytes = size_t(1) << 40);

/// A UTF-8 byte-order mark at the start of `text` dropped (editors on Windows write one; read as
/// data it would become part of the first id).
std::string_view strip_bom(std::string_view text);

/// read_file for text: the same, without a byte-order mark.
std::string read_text_file(const std::string& path);

/// A text file's bytes (a byte-order mark dropped), memory-mapped read-only (no copy); read into memory when it cannot
/// be mapped (a pipe, an empty file). InputError(path, 0, ...) when it cannot be opened or read.
class MappedFile {
 public:
  explicit MappedFile(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  std::string_view text() const { return text_; }
  /// Unmaps (or frees) the bytes now; text() is empty afterwards.
  void close();

 private:
  std::string_view text_;
  void* map_ = nullptr;
  size_t map_size_ = 0;
  std::string copy_;
};

/// Splits one line (no newline) into fields. With `quoted`, fields may be wrapped in double
/// quotes with "" escapes; returns false on an unterminated quote.
bool split_fields(std::string_view line, std::string_view sep, bool quoted, std::vector<std::string_view>& fields,
                  std::string& scratch);

/// Iterates lines of `text`, stripping a trailing '\r'. Returns false at the end.
class LineReader {
 public:
  explicit LineReader(std::string_view text) : text_(text) {}
  bool next(std::string_view& line) {
    if (pos_ >= text_.size()) return false;
    size_t end = text_.find('\n', pos_);
    if (end == std::string_view::npos) end = text_.size();
    line = text_.substr(pos_, end - pos_);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    pos_ = end + 1;
    ++number_;
    return true;
  }
  int64_t number() const { return number_; }

 private:
  std::string_view text_;
  size_t pos_ = 0;
  int64_t number_ = 0;
};

/// True when `s` is well-formed UTF-8 (overlong two-byte leads 0xC0/0xC1 rejected).
bool valid_utf8(std::string_view s);

/// `s` as it can be shown in a message: unchanged when it is UTF-8 without control bytes, else
/// every control byte and byte past ASCII written as \xNN.
std::string printable(std::string_view s);

/// ISO-8859-1 to UTF-8 (MovieLens item files are Latin-1); valid UTF-8 is returned unchanged.
std::string latin1_to_utf8(std::string_view s);

}  // namespace mfkit
