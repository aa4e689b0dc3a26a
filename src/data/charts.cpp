// Spotify regional daily charts: `regional-<cc>-daily-latest.csv` files (a note line, then
// Position,"Track Name",Artist,Streams,URL) or the stacked charts_long.csv with a Region column.
// Rows are countries (upper-case ISO codes), columns are tracks (by URL), values are streams.
#include <sys/stat.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <map>

#include "data/charts.h"
#include "data/text_file.h"
#include "mfkit/error.h"
#include "mfkit/labels.h"

namespace fs = std::filesystem;

namespace mfkit {

namespace {

std::string upper(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

struct Builder {
  std::shared_ptr<IdMap> users = std::make_shared<IdMap>(), items = std::make_shared<IdMap>();
  Coo coo;
  std::vector<std::string> titles, artists;
  int64_t lines = 0;

  void add(const std::string& path, int64_t line, const std::string& region, std::string_view title,
           std::string_view artist, std::string_view streams, std::string_view url) {
    if (region.empty()) throw InputError(path, line, "empty region");
    if (url.empty()) throw InputError(path, line, "empty track URL");
    int64_t s = 0;
    auto r = std::from_chars(streams.data(), streams.data() + streams.size(), s);
    if (r.ec != std::errc() || r.ptr != streams.data() + streams.size() || s < 0)
      throw InputError(path, line, "streams '" + std::string(streams.substr(0, 40)) + "' is not a non-negative integer");
    int32_t i = items->add(url);
    if (i == static_cast<int32_t>(titles.size())) {
      titles.emplace_back(title);
      artists.emplace_back(artist);
    }
    coo.users.push_back(users->add(region));
    coo.items.push_back(i);
    coo.values.push_back(static_cast<float>(s));
    ++lines;
  }
};

// One regional file; the region comes from the file name.
void read_regional(const std::string& path, Builder& b) {
  std::string name = fs::path(path).filename().string();  // regional-co-daily-latest.csv
  if (name.rfind("regional-", 0) != 0 || name.size() < 12)
    throw InputError(path, 0, "expected a file named regional-<cc>-daily-<date>.csv");
  std::string region = upper(name.substr(9, name.find('-', 9) - 9));
  std::string text = read_file(path);
  LineReader lines(text);
  std::string_view line;
  std::vector<std::string_view> f;
  std::string scratch;
  bool header_seen = false;
  while (lines.next(line)) {
    if (line.empty()) continue;
    if (!header_seen) {
      if (line.rfind("Position,", 0) == 0) header_seen = true;
      else if (lines.number() > 2) throw InputError(path, lines.number(), "expected the header Position,\"Track Name\",Artist,Streams,URL");
      continue;
    }
    if (!split_fields(line, ",", true, f, scratch) || f.size() != 5)
      throw InputError(path, lines.number(), "expected 5 fields: Position,Track Name,Artist,Streams,URL");
    b.add(path, lines.number(), region, f[1], f[2], f[3], f[4]);
  }
  if (!header_seen) throw InputError(path, 0, "no header line Position,\"Track Name\",Artist,Streams,URL");
}

void read_long(const std::string& path, Builder& b) {
  std::string text = read_file(path);
  LineReader lines(text);
  std::string_view line;
  std::vector<std::string_view> f;
  std::string scratch;
  if (!lines.next(line) || line.rfind("Region,", 0) != 0)
    throw InputError(path, 1, "expected the header Region,Position,Track Name,Artist,Streams,URL");
  while (lines.next(line)) {
    if (line.empty()) continue;
    if (!split_fields(line, ",", true, f, scratch) || f.size() != 6)
      throw InputError(path, lines.number(), "expected 6 fields: Region,Position,Track Name,Artist,Streams,URL");
    b.add(path, lines.number(), upper(std::string(f[0])), f[2], f[3], f[4], f[5]);
  }
}

}  // namespace

LoadResult load_spotify_charts(const std::string& path) {
  Builder b;
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) throw InputError(path, 0, "no such file or folder");
  if (S_ISDIR(st.st_mode)) {
    std::vector<std::string> files;
    for (const auto& e : fs::directory_iterator(path)) {
      std::string n = e.path().filename().string();
      if (n.rfind("regional-", 0) == 0 && e.path().extension() == ".csv") files.push_back(e.path().string());
    }
    std::sort(files.begin(), files.end());
    if (files.empty()) throw InputError(path, 0, "no regional-<cc>-daily-*.csv files");
    for (const auto& f : files) read_regional(f, b);
  } else if (fs::path(path).filename().string().rfind("regional-", 0) == 0) {
    read_regional(path, b);
  } else {
    read_long(path, b);
  }
  if (b.coo.size() == 0) throw InputError(path, 0, "no chart rows");
  LoadResult r;
  r.lines = b.lines;
  r.data = Interactions::from_coo(b.coo, b.users, b.items, DuplicatePolicy::kSum);
  r.labels.item_titles = std::move(b.titles);
  r.labels.item_categories = std::move(b.artists);
  for (const auto& code : b.users->names()) {
    std::string n = country_name(code);
    r.labels.user_names.push_back(n.empty() ? code : n);
  }
  return r;
}

}  // namespace mfkit
