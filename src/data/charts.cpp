// Spotify regional daily charts: `regional-<cc>-daily-latest.csv` files (a note line, then
// Position,"Track Name",Artist,Streams,URL) or the stacked charts_long.csv with a Region column.
// Rows are countries (upper-case ISO codes), columns are tracks (by URL), values are streams.
#include "data/charts.h"

#include <sys/stat.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <random>

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

template <typename T>
bool parse_int(std::string_view s, T& out) {
  auto r = std::from_chars(s.data(), s.data() + s.size(), out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

ChartRow make_row(const std::string& path, int64_t line, std::string region, std::string_view position,
                  std::string_view title, std::string_view artist, std::string_view streams, std::string_view url) {
  ChartRow r;
  r.line = line;
  if (region.size() != 2 || !std::isalpha(static_cast<unsigned char>(region[0])) ||
      !std::isalpha(static_cast<unsigned char>(region[1])))
    throw InputError(path, line, "region '" + region.substr(0, 40) + "' is not a two-letter country code");
  r.region = std::move(region);
  if (!parse_int(position, r.position) || r.position < 1)
    throw InputError(path, line, "position '" + std::string(position.substr(0, 40)) + "' is not a positive integer");
  if (url.empty()) throw InputError(path, line, "empty track URL");
  if (!parse_int(streams, r.streams) || r.streams < 0)
    throw InputError(path, line, "streams '" + std::string(streams.substr(0, 40)) + "' is not a non-negative integer");
  r.title = std::string(title);
  r.artist = std::string(artist);
  r.url = std::string(url);
  return r;
}

void read_regional(const std::string& path, const std::string& region, std::vector<ChartRow>& out) {
  std::string text = read_text_file(path);
  LineReader lines(text);
  std::string_view line;
  std::vector<std::string_view> f;
  std::string scratch;
  bool header_seen = false;
  while (lines.next(line)) {
    if (line.empty()) continue;
    if (!header_seen) {
      if (line.rfind("Position,", 0) == 0)
        header_seen = true;
      else if (lines.number() > 2)
        throw InputError(path, lines.number(), "expected the header Position,\"Track Name\",Artist,Streams,URL");
      continue;
    }
    if (!split_fields(line, ",", true, f, scratch) || f.size() != 5)
      throw InputError(path, lines.number(), "expected 5 fields: Position,Track Name,Artist,Streams,URL");
    out.push_back(make_row(path, lines.number(), region, f[0], f[1], f[2], f[3], f[4]));
  }
  if (!header_seen) throw InputError(path, 0, "no header line Position,\"Track Name\",Artist,Streams,URL");
}

void read_long(const std::string& path, std::vector<ChartRow>& out) {
  std::string text = read_text_file(path);
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
    out.push_back(make_row(path, lines.number(), upper(std::string(f[0])), f[1], f[2], f[3], f[4], f[5]));
  }
}

}  // namespace

std::vector<std::string> chart_files(const std::string& folder) {
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(folder)) {
    std::string n = e.path().filename().string();
    if (n.rfind("regional-", 0) == 0 && e.path().extension() == ".csv") files.push_back(e.path().string());
  }
  if (files.empty()) throw InputError(folder, 0, "no regional-<cc>-daily-*.csv files");
  std::sort(files.begin(), files.end());
  return files;
}

std::string chart_file_region(const std::string& path) {
  std::string name = fs::path(path).filename().string();  // regional-co-daily-latest.csv
  if (name.rfind("regional-", 0) != 0) return "";
  size_t dash = name.find('-', 9);
  if (dash == std::string::npos || dash == 9) return "";
  return upper(name.substr(9, dash - 9));
}

std::vector<ChartRow> read_chart_file(const std::string& path) {
  std::vector<ChartRow> rows;
  if (fs::path(path).filename().string().rfind("regional-", 0) == 0) {
    std::string region = chart_file_region(path);
    if (region.empty()) throw InputError(path, 0, "expected a file named regional-<cc>-daily-<date>.csv");
    read_regional(path, region, rows);
  } else {
    read_long(path, rows);
  }
  return rows;
}

LoadResult charts_to_data(const std::vector<ChartRow>& rows) {
  auto users = std::make_shared<IdMap>(), items = std::make_shared<IdMap>();
  Coo coo;
  std::vector<std::string> titles, artists;
  for (const ChartRow& r : rows) {
    int32_t i = items->add(r.url);
    if (i == static_cast<int32_t>(titles.size())) {
      titles.push_back(r.title);
      artists.push_back(r.artist);
    }
    coo.users.push_back(users->add(r.region));
    coo.items.push_back(i);
    coo.values.push_back(static_cast<float>(r.streams));
  }
  LoadResult out;
  out.lines = static_cast<int64_t>(rows.size());
  out.data = Interactions::from_coo(coo, users, items, DuplicatePolicy::kSum);
  out.labels.item_titles = std::move(titles);
  out.labels.item_categories = std::move(artists);
  for (const auto& code : users->names()) {
    std::string n = country_name(code);
    out.labels.user_names.push_back(n.empty() ? code : n);
  }
  return out;
}

LoadResult load_spotify_charts(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) throw InputError(path, 0, "no such file or folder");
  std::vector<ChartRow> rows;
  if (S_ISDIR(st.st_mode)) {
    for (const auto& f : chart_files(path)) {
      auto part = read_chart_file(f);
      rows.insert(rows.end(), std::make_move_iterator(part.begin()), std::make_move_iterator(part.end()));
    }
  } else {
    rows = read_chart_file(path);
  }
  if (rows.empty()) throw InputError(path, 0, "no chart rows");
  return charts_to_data(rows);
}

LoadResult synthetic_charts(uint64_t seed) {
  const char* countries[] = {"CO", "MX", "AR", "ES", "TR", "DE", "FR", "GB"};
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> unif(0.0, 1.0);
  std::vector<ChartRow> rows;
  for (int t = 0; t < 160; ++t) {
    const int home = static_cast<int>(rng() % 8);
    const double reach = 0.2 + 0.8 * unif(rng);  // how big the track is, 0.2..1
    for (int c = 0; c < 8; ++c) {
      const double p = c == home ? 1.0 : (c / 4 == home / 4 ? 0.5 : 0.125);
      if (unif(rng) >= p) continue;
      ChartRow r;
      r.region = countries[c];
      r.url = "https://example.org/track/" + std::to_string(t + 1);
      r.title = "Song " + std::to_string(t + 1);
      r.artist = "Artist " + std::to_string(t % 40 + 1);
      r.streams = static_cast<int64_t>(2000 + 200000 * reach * (0.5 + unif(rng)));
      rows.push_back(std::move(r));
    }
  }
  return charts_to_data(rows);
}

}  // namespace mfkit
