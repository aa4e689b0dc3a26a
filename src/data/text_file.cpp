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

std::string read_file(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) throw InputError(path, 0, std::string("cannot open: ") + std::strerror(errno));
  std::string out;
  char buf[1 << 16];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  bool bad = std::ferror(f);
  std::fclose(f);
  if (bad) throw InputError(path, 0, "read error");
  return out;
}

MappedFile::MappedFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) throw InputError(path, 0, std::string("cannot open: ") + std::strerror(errno));
  struct stat st;
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
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
}

MappedFile::~MappedFile() { close(); }

void MappedFile::close() {
  if (map_) ::munmap(map_, map_size_);
  map_ = nullptr;
  copy_ = std::string();
  text_ = std::string_view();
}

bool split_fields(std::string_view line, std::string_view sep, bool quoted,
                  std::vector<std::string_view>& fields, std::string& scratch) {
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

std::string ascii_lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
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
