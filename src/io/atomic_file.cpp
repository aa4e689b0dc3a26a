#include "io/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>

#include "mfkit/error.h"

namespace mfkit {

void check_writable(const std::string& path, const char* what) {
  if (path.empty()) throw Error(std::string("cannot write ") + what + ": no file name given");
  struct stat st;
  if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode))
    throw Error(std::string("cannot write ") + what + " " + path + ": it is a folder");
  // The same temporary file the write will use, made and removed at once: a missing folder, a
  // read-only disk or a folder without write permission are all found now, not after the fit.
  std::random_device rd;
  const std::string tmp = path + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(rd());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0644);
  if (fd < 0) throw Error(std::string("cannot write ") + what + " " + path + ": " + std::strerror(errno));
  ::close(fd);
  ::unlink(tmp.c_str());
}

void write_file_atomically(const std::string& path, std::string_view bytes, const char* what) {
  write_file_atomically(path, std::vector<std::string_view>{bytes}, what);
}

void write_file_atomically(const std::string& path, const std::vector<std::string_view>& pieces, const char* what) {
  std::random_device rd;
  const std::string tmp = path + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(rd());
  auto fail = [&](const char* doing, int e) {
    ::unlink(tmp.c_str());
    throw Error(std::string("cannot ") + doing + " " + what + " " + path + ": " + std::strerror(e));
  };
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0644);
  if (fd < 0) throw Error(std::string("cannot write ") + what + " " + path + ": " + std::strerror(errno));
  for (std::string_view bytes : pieces)
    for (size_t done = 0; done < bytes.size();) {
      const ssize_t w = ::write(fd, bytes.data() + done, bytes.size() - done);
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) {
        const int e = errno;
        ::close(fd);
        fail("write", e);
      }
      done += static_cast<size_t>(w);
    }
  if (::fsync(fd) != 0 || ::close(fd) != 0) fail("flush", errno);
  if (::rename(tmp.c_str(), path.c_str()) != 0) fail("move into place", errno);
  const auto slash = path.find_last_of('/');
  const std::string dir = slash == std::string::npos ? "." : path.substr(0, slash == 0 ? 1 : slash);
  if (int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY); dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

}  // namespace mfkit
