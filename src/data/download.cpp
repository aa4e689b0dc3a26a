#include <httplib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zip.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "data/digest.h"
#include "mfkit/data.h"
#include "mfkit/error.h"
#include "mfkit/store.h"

namespace fs = std::filesystem;

namespace mfkit {

std::string file_digest(const std::string& path, const std::string& algorithm) {
  Digest d(algorithm);
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path, 0, "cannot open");
  std::vector<char> buf(1 << 16);
  while (in) {
    in.read(buf.data(), buf.size());
    d.update(buf.data(), static_cast<size_t>(in.gcount()));
  }
  return d.hex();
}

namespace {

struct Url {
  std::string scheme_host_port, path;
};

Url parse_url(const std::string& url) {
  auto p = url.find("://");
  if (p == std::string::npos) throw ParamError("url '" + url + "': expected http:// or https://");
  std::string scheme = url.substr(0, p);
  if (scheme != "http" && scheme != "https") throw ParamError("url '" + url + "': only http and https");
  auto slash = url.find('/', p + 3);
  if (slash == std::string::npos) return {url, "/"};
  return {url.substr(0, slash), url.substr(slash)};
}

void download(const std::string& url, const std::string& to, int timeout) {
  Url u = parse_url(url);
  httplib::Client cli(u.scheme_host_port);
  cli.set_follow_location(true);
  cli.set_connection_timeout(timeout, 0);
  cli.set_read_timeout(timeout, 0);
  std::ofstream out(to, std::ios::binary);
  if (!out) throw Error("cannot write " + to);
  int status = 0;
  auto res = cli.Get(
      u.path,
      [&](const httplib::Response& r) {
        status = r.status;
        return r.status == 200;
      },
      [&](const char* data, size_t n) {
        out.write(data, static_cast<std::streamsize>(n));
        return static_cast<bool>(out);
      });
  out.close();
  if (!res) {
    if (status != 0 && status != 200) throw Error("download " + url + ": HTTP status " + std::to_string(status));
    throw Error("download " + url + ": " + httplib::to_string(res.error()));
  }
  if (res->status != 200) throw Error("download " + url + ": HTTP status " + std::to_string(res->status));
  if (!out) throw Error("download " + url + ": writing " + to + " failed");
}

void unzip(const std::string& archive, const fs::path& into) {
  int err = 0;
  zip_t* z = zip_open(archive.c_str(), ZIP_RDONLY, &err);
  if (!z) throw InputError(archive, 0, "not a readable zip archive (libzip error " + std::to_string(err) + ")");
  std::unique_ptr<zip_t, decltype(&zip_discard)> guard(z, zip_discard);
  zip_int64_t n = zip_get_num_entries(z, 0);
  for (zip_int64_t i = 0; i < n; ++i) {
    zip_stat_t st;
    if (zip_stat_index(z, i, 0, &st) != 0) throw InputError(archive, 0, "cannot read entry " + std::to_string(i));
    std::string name = st.name;
    fs::path rel(name);
    if (rel.is_absolute() || name.find("..") != std::string::npos)
      throw InputError(archive, 0, "entry '" + name + "' escapes the target folder; refused");
    fs::path dst = into / rel;
    if (!name.empty() && name.back() == '/') {
      fs::create_directories(dst);
      continue;
    }
    fs::create_directories(dst.parent_path());
    zip_file_t* f = zip_fopen_index(z, i, 0);
    if (!f) throw InputError(archive, 0, "cannot open entry '" + name + "'");
    std::ofstream out(dst, std::ios::binary);
    char buf[1 << 16];
    zip_int64_t got;
    while ((got = zip_fread(f, buf, sizeof buf)) > 0) out.write(buf, got);
    zip_fclose(f);
    if (got < 0 || !out) throw InputError(archive, 0, "entry '" + name + "' is damaged or could not be written");
  }
}

}  // namespace

void fetch_dataset(const DatasetSpec& spec, const std::string& dir, const std::string& url_override,
                   int timeout_seconds) {
  std::string url = url_override.empty() ? spec.url : url_override;
  fs::create_directories(dir);
  fs::path staging = fs::path(dir) / (".fetch-" + spec.name + "-" + std::to_string(::getpid()));
  fs::remove_all(staging);
  fs::create_directories(staging);
  try {
    std::string archive = (staging / "archive.zip").string();
    download(url, archive, timeout_seconds);
    auto colon = spec.checksum.find(':');
    std::string algo = spec.checksum.substr(0, colon), want = spec.checksum.substr(colon + 1);
    std::string got = file_digest(archive, algo);
    if (got != want)
      throw Error("download " + url + ": " + algo + " is " + got + ", expected " + want +
                  " (damaged or changed archive; nothing was installed)");
    fs::path unpacked = staging / "unpacked";
    unzip(archive, unpacked);
    fs::path target = fs::path(dir) / spec.extract_to;
    fs::create_directories(target);
    for (const auto& entry : fs::directory_iterator(unpacked)) {
      fs::path dst = target / entry.path().filename();
      if (fs::exists(dst)) fs::remove_all(dst);
      fs::rename(entry.path(), dst);
    }
    fs::remove_all(staging);
  } catch (...) {
    std::error_code ec;
    fs::remove_all(staging, ec);
    throw;
  }
}

}  // namespace mfkit
