#include <sys/stat.h>

#include <cstdlib>

#include "data/charts.h"
#include "data/text_file.h"

#include <algorithm>
#include "mfkit/data.h"
#include "mfkit/error.h"

namespace mfkit {

namespace {

bool is_file(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

bool exists(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0;
}

Format fmt_of(const char* cols, const char* sep, bool header) { return parse_format(cols, sep, header); }

std::string parent(const std::string& path) {
  auto p = path.find_last_of('/');
  return p == std::string::npos ? "." : path.substr(0, p);
}

}  // namespace

const std::vector<DatasetSpec>& datasets() {
  static const std::vector<DatasetSpec> specs = [] {
    std::vector<DatasetSpec> v;
    v.push_back({"ml-100k",
                 "MovieLens 100K: 100,000 ratings 1-5, 943 users x 1,682 movies",
                 {{"ml-100k/u.data", fmt_of("user,item,rating,timestamp", "\t", false)}},
                 "https://files.grouplens.org/datasets/movielens/ml-100k.zip",
                 "md5:0e33842e24a9c977be4e0107933c0723",
                 "",
                 false});
    v.push_back({"ml-1m",
                 "MovieLens 1M: 1,000,209 ratings 1-5, 6,040 users x 3,706 movies",
                 {{"ml-1m/ratings.dat", fmt_of("user,item,rating,timestamp", "::", false)},
                  {"ml-1m/derived/ratings_user_itemrank_rating.csv", fmt_of("user,item,rating", ",", true)}},
                 "https://files.grouplens.org/datasets/movielens/ml-1m.zip",
                 "md5:c4d9eecfca2ab87c1945afe126590906",
                 "",
                 false});
    Format latest = fmt_of("user,item,rating,timestamp", ",", true);
    v.push_back({"ml-latest-small",
                 "MovieLens latest-small (2018): 100,836 ratings 0.5-5, 610 users x 9,724 movies",
                 {{"ml-latest-small/ratings.csv", latest}, {"ml-latest-small/ml-latest-small/ratings.csv", latest}},
                 "https://files.grouplens.org/datasets/movielens/ml-latest-small.zip",
                 "sha256:859da233c6929ebc9202e9516cdefa8a3c695aef67d1878249d6036c3513c023",
                 "",
                 false});
    v.push_back({"lastfm-2k",
                 "hetrec-2011 last.fm: 92,834 play counts, 1,892 users x 17,632 artists",
                 {{"lastfm-2k/user_artists.dat", fmt_of("user,item,rating", "\t", true)}},
                 "https://files.grouplens.org/datasets/hetrec2011/hetrec2011-lastfm-2k.zip",
                 "md5:296d61afe4e8632b173fc2dd3be20ce2",
                 "lastfm-2k",
                 true});
    DatasetSpec charts{"spotify-charts",
                       "Spotify daily top-200 charts: 65 countries x 5,054 tracks, streams",
                       {{"spotify-charts/derived/charts_long.csv", Format{}}, {"spotify-charts/raw", Format{}}},
                       "",
                       "",
                       "",
                       true};
    charts.loader = DatasetSpec::Loader::kSpotifyCharts;
    v.push_back(charts);
    return v;
  }();
  return specs;
}

const DatasetSpec& dataset_spec(const std::string& name) {
  for (const auto& s : datasets())
    if (s.name == name) return s;
  std::string names;
  for (const auto& s : datasets()) names += (names.empty() ? "" : ", ") + s.name;
  throw NotFoundError("unknown dataset '" + name + "' (known: " + names + "; or give a file path)");
}

std::string data_dir() {
  if (const char* d = std::getenv("MFKIT_DATA_DIR"); d && *d) return d;
  const char* home = std::getenv("HOME");
  return std::string(home && *home ? home : ".") + "/.cache/mfkit";
}

std::optional<DatasetSpec::Source> find_dataset(const DatasetSpec& spec, const std::string& dir) {
  for (const auto& s : spec.sources)
    if (spec.loader == DatasetSpec::Loader::kSpotifyCharts ? exists(dir + "/" + s.path) : is_file(dir + "/" + s.path))
      return DatasetSpec::Source{dir + "/" + s.path, s.format};
  return std::nullopt;
}

Labels dataset_labels(const DatasetSpec& spec, const std::string& folder, const Interactions& data);
std::map<std::string, ItemInfo> load_item_info_from(const std::string& folder);

static const DatasetSpec* known(const std::string& name) {
  for (const auto& s : datasets())
    if (s.name == name) return &s;
  return nullptr;
}

DatasetSpec::Source dataset_source(const DatasetSpec& spec) {
  auto src = find_dataset(spec, data_dir());
  if (!src)
    throw NotFoundError("dataset '" + spec.name + "' is not in " + data_dir() + " (looked for " +
                        spec.sources.front().path + "); run `mfkit data get " + spec.name + "` or set MFKIT_DATA_DIR");
  return *src;
}

LoadResult load_data(const std::string& name_or_path, const std::optional<Format>& format, const LoadOptions& opt) {
  const DatasetSpec* spec = known(name_or_path);
  if (!spec && exists(name_or_path)) {
    struct stat st;
    if (::stat(name_or_path.c_str(), &st) == 0 && S_ISDIR(st.st_mode))
      throw InputError(name_or_path, 0, "is a folder, not a data file (give the ratings file in it)");
    if (!format)
      throw ParamError("'" + name_or_path +
                       "' is a file: give its layout with --format (e.g. user,item,rating) and --sep");
    return load_ratings(name_or_path, *format, opt);  // names a device or a socket as such
  }
  if (is_file(name_or_path)) {
    if (!format)
      throw ParamError("'" + name_or_path +
                       "' is a file: give its layout with --format (e.g. user,item,rating) and --sep");
    return load_ratings(name_or_path, *format, opt);
  }
  if (!spec) {
    if (name_or_path.find('/') != std::string::npos || name_or_path.find('.') != std::string::npos)
      throw InputError(name_or_path, 0, "no such file");
    dataset_spec(name_or_path);  // throws with the list of names
  }
  const DatasetSpec::Source src = dataset_source(*spec);
  if (spec->loader == DatasetSpec::Loader::kSpotifyCharts) return load_spotify_charts(src.path);
  LoadOptions o = opt;
  if (spec->implicit) o.duplicates = DuplicatePolicy::kSum;
  LoadResult r = load_ratings(src.path, format ? *format : src.format, o);
  r.labels = dataset_labels(*spec, parent(src.path), r.data);
  return r;
}

// Titles and categories for a named dataset's items, from the side files beside its ratings.
Labels dataset_labels(const DatasetSpec& spec, const std::string& folder, const Interactions& data) {
  Labels l;
  const IdMap& items = *data.item_ids();
  if (spec.name == "lastfm-2k") {
    std::map<std::string, std::string> names, top_tag;
    if (is_file(folder + "/artists.dat")) {
      std::string text = read_text_file(folder + "/artists.dat");
      LineReader lines(text);
      std::string_view line;
      lines.next(line);
      while (lines.next(line)) {
        auto tab = line.find('\t'), tab2 = line.find('\t', tab + 1);
        if (tab != std::string_view::npos)
          names[std::string(line.substr(0, tab))] = latin1_to_utf8(line.substr(tab + 1, tab2 - tab - 1));
      }
    }
    if (is_file(folder + "/user_taggedartists.dat") && is_file(folder + "/tags.dat")) {
      std::map<std::string, std::string> tag_name;
      std::string tags = read_text_file(folder + "/tags.dat");
      LineReader tl(tags);
      std::string_view line;
      tl.next(line);
      while (tl.next(line)) {
        auto tab = line.find('\t');
        if (tab != std::string_view::npos)
          tag_name[std::string(line.substr(0, tab))] = latin1_to_utf8(line.substr(tab + 1));
      }
      // The category of an artist is its most used tag.
      std::map<std::string, std::map<std::string, int>> counts;
      std::string ut = read_text_file(folder + "/user_taggedartists.dat");
      LineReader ul(ut);
      std::vector<std::string_view> f;
      std::string scratch;
      ul.next(line);
      while (ul.next(line))
        if (split_fields(line, "\t", false, f, scratch) && f.size() >= 3)
          counts[std::string(f[1])][std::string(f[2])]++;
      for (auto& [artist, c] : counts) {
        auto best = std::max_element(c.begin(), c.end(), [](auto& a, auto& b) { return a.second < b.second; });
        top_tag[artist] = tag_name[best->first];
      }
    }
    for (int32_t i = 0; i < items.size(); ++i) {
      l.item_titles.push_back(names.count(items.name(i)) ? names[items.name(i)] : items.name(i));
      l.item_categories.push_back(top_tag.count(items.name(i)) ? top_tag[items.name(i)] : "");
    }
    return l;
  }
  auto info = load_item_info_from(folder);
  if (info.empty()) return l;
  for (int32_t i = 0; i < items.size(); ++i) {
    auto it = info.find(items.name(i));
    l.item_titles.push_back(it == info.end() ? items.name(i) : it->second.title);
    std::string g = it == info.end() ? "" : it->second.genres;
    l.item_categories.push_back(g.substr(0, g.find('|')));
  }
  return l;
}

std::string dataset_folder(const std::string& name_or_path) {
  if (is_file(name_or_path)) return parent(name_or_path);
  const DatasetSpec& spec = dataset_spec(name_or_path);
  auto src = find_dataset(spec, data_dir());
  if (!src) throw NotFoundError("dataset '" + spec.name + "' is not in " + data_dir());
  return parent(src->path);
}

std::map<std::string, ItemInfo> load_item_info(const std::string& name_or_path) {
  return load_item_info_from(dataset_folder(name_or_path));
}

std::map<std::string, ItemInfo> load_item_info_from(const std::string& folder) {
  std::map<std::string, ItemInfo> out;
  struct Candidate {
    const char* file;
    const char* sep;
    bool header, quoted;
    int title_col, genres_col;
  };
  // ml-1m's derived ratings (in derived/) use re-coded item ids that cannot be joined to
  // movies.dat, which lies one folder up: only files beside the ratings are read.
  std::vector<std::string> genre_names;
  if (is_file(folder + "/u.genre")) {
    std::string text = read_text_file(folder + "/u.genre");
    LineReader lines(text);
    std::string_view line;
    while (lines.next(line)) {
      auto bar = line.find('|');
      if (bar != std::string_view::npos) genre_names.emplace_back(line.substr(0, bar));
    }
  }
  const Candidate cands[] = {{"u.item", "|", false, false, 1, -1},
                             {"movies.dat", "::", false, false, 1, 2},
                             {"movies.csv", ",", true, true, 1, 2}};
  for (const auto& c : cands) {
    std::string path = folder + "/" + c.file;
    if (!is_file(path)) continue;
    std::string text = read_text_file(path);
    LineReader lines(text);
    std::string_view line;
    std::vector<std::string_view> f;
    std::string scratch;
    if (c.header) lines.next(line);
    while (lines.next(line)) {
      if (line.empty()) continue;
      if (!split_fields(line, c.sep, c.quoted, f, scratch) || f.size() <= static_cast<size_t>(c.title_col))
        throw InputError(path, lines.number(), "expected an id and a title");
      ItemInfo info;
      info.title = latin1_to_utf8(f[c.title_col]);
      if (c.genres_col >= 0 && f.size() > static_cast<size_t>(c.genres_col)) {
        info.genres = latin1_to_utf8(f[c.genres_col]);
      } else if (c.genres_col < 0 && f.size() == 5 + genre_names.size()) {
        for (size_t g = 0; g < genre_names.size(); ++g)
          if (f[5 + g] == "1") info.genres += (info.genres.empty() ? "" : "|") + genre_names[g];
      }
      out[std::string(f[0])] = std::move(info);
    }
    break;
  }
  return out;
}

}  // namespace mfkit
