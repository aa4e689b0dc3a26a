// mfkit/data.h - reading rating files and named datasets.
//
// Loaders stream a file once, parse with std::from_chars and map raw ids as they go. Any line
// they cannot read raises InputError(file, line, problem), unless LoadOptions::skip_bad_lines
// is set, in which case the line is counted in LoadResult::skipped and the first few problems
// are kept for the report.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mfkit/interactions.h"
#include "mfkit/labels.h"

namespace mfkit {

/// What each delimited column holds.
enum class Column { kUser, kItem, kRating, kTimestamp, kSkip };

/// A delimited file's layout, e.g. parse_format("user,item,rating,timestamp", "\t").
struct Format {
  std::vector<Column> columns;  ///< in file order; must contain user and item
  std::string sep = ",";        ///< field separator, one or more characters ("::" for ML-1M)
  bool header = false;          ///< skip the first line
  bool quoted = false;          ///< fields may be "quoted" with "" escapes (RFC 4180, one line)
};
/// Parses a column list such as "user,item,rating[,timestamp]" ("_" or "skip" ignores a column).
Format parse_format(const std::string& columns, const std::string& sep, bool header);

struct LoadOptions {
  bool skip_bad_lines = false;                          ///< count and skip malformed lines instead of failing
  DuplicatePolicy duplicates = DuplicatePolicy::kLast;  ///< how repeated (user, item) pairs merge
  float implicit_value = 1.0f;                          ///< value given to every entry when the format has no rating
  bool binarize = false;  ///< replace every value by 1 (explicit ratings read as implicit feedback)
  int threads = 0;        ///< parsing threads (0: OpenMP's default)
};

struct LoadResult {
  Interactions data;
  int64_t lines = 0;                  ///< data lines read (header excluded)
  int64_t skipped = 0;                ///< malformed lines skipped (skip_bad_lines only)
  std::vector<std::string> problems;  ///< the first problems met, "file:line: problem"
  Labels labels;                      ///< names, titles and categories, where the dataset has them
};

/// Reads a delimited ratings file.
LoadResult load_ratings(const std::string& path, const Format& format, const LoadOptions& opt = {});
/// Parses ratings lines in `text` (no header), a piece of file `path` whose first line is line
/// line_base + 1 (line numbers in errors). Unlike load_ratings, no lines is not an error (an empty
/// result). `parsed`, when given, is called once the text is no longer needed.
LoadResult parse_ratings(std::string_view text, const std::string& path, int64_t line_base, const Format& format,
                         const LoadOptions& opt = {}, const std::function<void()>& parsed = {});
/// Part `part` of `parts` of `text`: the bytes from the first line starting at or after
/// size*part/parts up to the next part's start, so each line lies in exactly one part.
std::string_view text_part(std::string_view text, int part, int parts);
/// `body` without its first line; InputError naming `path` when there is nothing at all.
std::string_view skip_header(std::string_view body, const std::string& path);

/// A dataset known by name, found under data_dir().
struct DatasetSpec {
  std::string name;         ///< "ml-100k", "ml-1m", ...
  std::string description;  ///< one line
  struct Source {
    std::string path;  ///< relative to data_dir()
    Format format;
  };
  std::vector<Source> sources;  ///< the first that exists is used
  std::string url;              ///< official archive
  std::string checksum;         ///< "sha256:<hex>" or, where only that is published, "md5:<hex>"
  std::string extract_to;       ///< folder under data_dir() the archive is unpacked into
  bool implicit = false;        ///< values are counts, not ratings
  enum class Loader { kDelimited, kSpotifyCharts } loader = Loader::kDelimited;  ///< how sources are read
};

const std::vector<DatasetSpec>& datasets();
/// The spec for `name`; throws NotFoundError listing the known names.
const DatasetSpec& dataset_spec(const std::string& name);
/// $MFKIT_DATA_DIR, else ~/.cache/mfkit.
std::string data_dir();
/// The first existing source of a named dataset, or nullopt when it is not on disk.
std::optional<DatasetSpec::Source> find_dataset(const DatasetSpec& spec, const std::string& dir);
/// The source of a named dataset under data_dir(); NotFoundError saying how to get it when absent.
DatasetSpec::Source dataset_source(const DatasetSpec& spec);

/// Loads a dataset by name (resolved under data_dir()) or, when `name_or_path` is an existing
/// file, by path with `format` (which must then be given).
LoadResult load_data(const std::string& name_or_path, const std::optional<Format>& format, const LoadOptions& opt = {});
/// The folder a named dataset's files are in (for canonical split files and side data).
std::string dataset_folder(const std::string& name_or_path);

/// Item side data: title and genres by raw item id.
struct ItemInfo {
  std::string title;
  std::string genres;  ///< "|"-separated
};
/// Loads MovieLens item files (u.item, movies.dat, movies.csv), found beside a dataset's ratings.
/// Returns an empty map when the dataset has none that can be joined to its item ids.
std::map<std::string, ItemInfo> load_item_info(const std::string& name_or_path);

}  // namespace mfkit

namespace mfkit {

/// A deterministic synthetic rating matrix: a rank-`rank` signal plus a nonlinear interaction
/// (a product of two latent traits passed through tanh) and noise, mapped to 1..5 stars.
struct SyntheticSpec {
  int32_t users = 600;    ///< rows
  int32_t items = 400;    ///< columns
  double density = 0.08;  ///< fraction of cells observed (popularity-skewed per item)
  int rank = 6;           ///< rank of the linear part
  double noise = 0.35;    ///< std of the Gaussian noise before rounding
  uint64_t seed = 7;      ///< the same seed gives the same matrix
};
Interactions synthetic_ratings(const SyntheticSpec& spec = {});

}  // namespace mfkit
