#include "data/text_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>

#include <cstdio>
#include <cstring>

#include "mfkit/error.h"

namespace mfkit {

int open_input(const std::string& path, struct stat& st, bool allow_pipe) {
  if (path.empty()) throw InputError(path, 0, "no file name given");
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    throw InputError(path, 0, std::string("cannot open: ") + std::strerror(errno));
  }
  const char* kind = nullptr;
  if (::fstat(fd, &st) != 0)
    kind = "a file whose status cannot be read";
  else if (S_ISDIR(st.st_mode))
    kind = "a folder, not a file";
  else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode))
    kind = "a device, not a file";
  else if (S_ISSOCK(st.st_mode))
    kind = "a socket, not a file";
  else if (S_ISFIFO(st.st_mode) && !allow_pipe)
    kind = "a pipe; give a regular file";
  else if (!S_ISREG(st.st_mode) && !S_ISFIFO(st.st_mode))
    kind = "not a regular file";
  if (kind) {
    ::close(fd);
    throw InputError(path, 0, std::string("is ") + kind);
  }
  return fd;
}

std::string read_file(const std::string& path, size_t max_bytes) {
  struct stat st;
  int fd = open_input(path, st);
  std::string out;
  if (S_ISREG(st.st_mode)) {
    if (static_cast<uint64_t>(st.st_size) > max_bytes) {
      ::close(fd);
      throw InputError(path, 0,
                       "is " + std::to_string(st.st_size) + " bytes, more than the " + std::to_string(max_bytes) +
                           " this reader accepts");
    }
    out.reserve(static_cast<size_t>(st.st_size));
  }
  char buf[1 << 16];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      throw InputError(path, 0, std::string("read error: ") + std::strerror(err));
    }
    if (n == 0) break;
    if (out.size() + static_cast<size_t>(n) > max_bytes) {
      ::close(fd);
      throw InputError(path, 0, "holds more than the " + std::to_string(max_bytes) + " bytes this reader accepts");
    }
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

std::string_view strip_bom(std::string_view text) {
  if (text.size() >= 3 && text.compare(0, 3, "\xEF\xBB\xBF") == 0) text.remove_prefix(3);
  return text;
}

std::string read_text_file(const std::string& path) {
  std::string s = read_file(path);
  if (strip_bom(s).size() != s.size()) s.erase(0, 3);
  return s;
}

MappedFile::MappedFile(const std::string& path) {
  struct stat st;
  int fd = open_input(path, st);
  if (S_ISREG(st.st_mode) && st.st_size > 0) {
    void* p = ::mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
    if (p != MAP_FAILED) {
      ::madvise(p, static_cast<size_t>(st.st_size), MADV_SEQUENTIAL);
      map_ = p;
      map_size_ = static_cast<size_t>(st.st_size);
      text_ = std::string_view(static_cast<const char*>(p), map_size_);
    }
  }
  ::close(fd);
  if (!map_) {
    copy_ = read_file(path);
    text_ = copy_;
  }
  text_ = strip_bom(text_);
}

MappedFile::~MappedFile() { close(); }

void MappedFile::close() {
  if (map_) ::munmap(map_, map_size_);
  map_ = nullptr;
  copy_ = std::string();
  text_ = std::string_view();
}

bool split_fields(std::string_view line, std::string_view sep, bool quoted, std::vector<std::string_view>& fields,
                  std::string& scratch) {
  fields.clear();
  if (sep.size() == 1 && (!quoted || std::memchr(line.data(), '"', line.size()) == nullptr)) {
    const char* p = line.data();
    const char* end = p + line.size();
    while (true) {
      const char* q = static_cast<const char*>(std::memchr(p, sep[0], end - p));
      if (!q) {
        fields.emplace_back(p, end - p);
        return true;
      }
      fields.emplace_back(p, q - p);
      p = q + 1;
    }
  }
  if (!quoted || line.find('"') == std::string_view::npos) {
    size_t start = 0;
    while (true) {
      size_t p = line.find(sep, start);
      if (p == std::string_view::npos) {
        fields.push_back(line.substr(start));
        return true;
      }
      fields.push_back(line.substr(start, p - start));
      start = p + sep.size();
    }
  }
  // Quoted: unescaped fields are written into scratch; views point into it, so reserve first.
  scratch.clear();
  scratch.reserve(line.size());
  std::vector<std::pair<size_t, size_t>> spans;
  size_t i = 0;
  while (true) {
    size_t begin = scratch.size();
    if (i < line.size() && line[i] == '"') {
      ++i;
      while (true) {
        if (i >= line.size()) return false;
        if (line[i] == '"') {
          if (i + 1 < line.size() && line[i + 1] == '"') {
            scratch.push_back('"');
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        scratch.push_back(line[i++]);
      }
      // Anything between the closing quote and the separator is kept as written.
      while (i < line.size() && line.compare(i, sep.size(), sep) != 0) scratch.push_back(line[i++]);
    } else {
      while (i < line.size() && line.compare(i, sep.size(), sep) != 0) scratch.push_back(line[i++]);
    }
    spans.emplace_back(begin, scratch.size() - begin);
    if (i >= line.size()) break;
    i += sep.size();
    if (i == line.size()) {
      spans.emplace_back(scratch.size(), 0);
      break;
    }
  }
  for (auto [b, n] : spans) fields.push_back(std::string_view(scratch).substr(b, n));
  return true;
}

bool valid_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = s[i];
    int n = c < 0x80 ? 0 : (c >> 5) == 6 ? 1 : (c >> 4) == 14 ? 2 : (c >> 3) == 30 ? 3 : -1;
    if (n < 0 || c == 0xC0 || c == 0xC1) return false;
    for (int k = 1; k <= n; ++k) {
      if (i + k >= s.size() || (static_cast<unsigned char>(s[i + k]) >> 6) != 2) return false;
    }
    i += n + 1;
  }
  return true;
}

std::string printable(std::string_view s) {
  bool plain = valid_utf8(s);
  for (char c : s) plain = plain && static_cast<unsigned char>(c) >= 0x20 && c != 0x7f;
  if (plain) return std::string(s);
  std::string out;
  for (char c : s) {
    const unsigned char b = static_cast<unsigned char>(c);
    if (b >= 0x20 && b < 0x7f) {
      out.push_back(c);
    } else {
      static const char* hex = "0123456789abcdef";
      out += "\\x";
      out.push_back(hex[b >> 4]);
      out.push_back(hex[b & 15]);
    }
  }
  return out;
}

std::string latin1_to_utf8(std::string_view s) {
  if (valid_utf8(s)) return std::string(s);
  std::string out;
  out.reserve(s.size() + 8);
  for (unsigned char c : s) {
    if (c < 0x80) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back(static_cast<char>(0xC0 | (c >> 6)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    }
  }
  return out;
}

}  // namespace mfkit
