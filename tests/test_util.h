// Helpers shared by the tests: temporary folders and tiny data made on the spot.
#pragma once

#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "mfkit/interactions.h"

namespace mfkit::test {

/// A fresh folder under /tmp, removed when the object goes out of scope.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "mfkit-test-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string file(const std::string& name, const std::string& contents) const {
    std::string p = path_ + "/" + name;
    std::filesystem::create_directories(std::filesystem::path(p).parent_path());
    std::ofstream(p, std::ios::binary) << contents;
    return p;
  }
  std::string path(const std::string& name = "") const { return name.empty() ? path_ : path_ + "/" + name; }

 private:
  std::string path_;
};

/// A matrix from (user, item, value) triples given as raw ids.
inline Interactions make_matrix(const std::vector<std::tuple<std::string, std::string, float>>& triples) {
  auto users = std::make_shared<IdMap>(), items = std::make_shared<IdMap>();
  Coo c;
  for (const auto& [u, i, v] : triples) {
    c.users.push_back(users->add(u));
    c.items.push_back(items->add(i));
    c.values.push_back(v);
  }
  return Interactions::from_coo(c, users, items);
}

/// A Spotify regional chart file `regional-<cc>-daily-<date>.csv` in `dir` with tracks
/// (url suffix, streams) in chart order; titles are "Song <t>", artists "Artist <t % 3>".
inline std::string chart_file(const std::string& dir, const std::string& cc, const std::string& date,
                              const std::vector<std::pair<int, long>>& tracks) {
  std::string s =
      ",,,\"Note that these figures are generated using a formula.\",\nPosition,\"Track Name\",Artist,Streams,URL\n";
  int pos = 1;
  for (const auto& [t, streams] : tracks)
    s += std::to_string(pos++) + ",\"Song " + std::to_string(t) + "\",Artist " + std::to_string(t % 3) + "," +
         std::to_string(streams) + ",https://open.spotify.com/track/t" + std::to_string(t) + "\n";
  std::string p = dir + "/regional-" + cc + "-daily-" + date + ".csv";
  std::filesystem::create_directories(dir);
  std::ofstream(p, std::ios::binary) << s;
  return p;
}

/// The mfkit binary run as a user runs it (MFKIT_CLI_PATH, set by CMake): exit code and the
/// output of stdout and stderr together.
struct CliRun {
  int code;
  std::string out;
};
/// `env` (e.g. "LD_DEBUG=files") is put before the command.
inline CliRun run_cli(const std::string& args, const std::string& env = "") {
  std::string cmd = (env.empty() ? "" : env + " ") + std::string(MFKIT_CLI_PATH) + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

/// The real data folder, or empty when MFKIT_DATA_DIR is not set or lacks `rel`.
inline std::string real_data(const std::string& rel) {
  const char* d = std::getenv("MFKIT_DATA_DIR");
  if (!d || !*d) return "";
  std::string p = std::string(d) + "/" + rel;
  return std::filesystem::exists(p) ? p : "";
}

/// The bytes of a model file with this header text and data part, checksummed as the writer
/// does (docs/model-format.md): for files a hostile user crafts, whose checksum is valid.
inline std::string crafted_model_file(const std::string& header, const std::string& data = "") {
  std::string s = "MFKITMDL";
  auto put = [&s](auto v) { s.append(reinterpret_cast<const char*>(&v), sizeof v); };
  put(uint32_t{1});
  put(uint32_t{0});
  put(uint64_t{header.size()});
  s += header;
  s += data;
  put(static_cast<uint32_t>(crc32_z(0L, reinterpret_cast<const Bytef*>(s.data()), s.size())));
  s += "MFKITEND";
  return s;
}

}  // namespace mfkit::test
