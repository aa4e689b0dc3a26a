// mfkit/store.h - dotify's local store of daily streaming charts (SQLite, Debian's libsqlite3),
// and datasets fetched from outside. Both are in libmfkit_store (CMake: mfkit::store).
//
// Each (date, region) chart is stored once. `ingest` parses and checks every file of a day
// before writing anything, then adds the day in one transaction: a malformed file is rejected
// whole (InputError naming its line) and the store is left as it was; re-ingesting a day with
// the same content changes nothing. `load` turns the stored days into countries x tracks.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "mfkit/context.h"
#include "mfkit/data.h"
#include "mfkit/model.h"

struct sqlite3;

namespace mfkit {

/// Downloads a dataset's official archive, verifies its checksum and unpacks it into
/// dir/spec.extract_to. `url_override` replaces the spec's URL (for mirrors and tests).
/// Throws Error when the download, the checksum or the archive fails; nothing is left half-written.
void fetch_dataset(const DatasetSpec& spec, const std::string& dir, const std::string& url_override = "",
                   int timeout_seconds = 60);

/// Hex digest of a file ("sha256" or "md5").
std::string file_digest(const std::string& path, const std::string& algorithm);

struct IngestReport {
  std::string date;
  std::vector<std::string> added;      ///< regions stored by this call
  std::vector<std::string> unchanged;  ///< regions already stored with the same content
  std::vector<std::string> replaced;   ///< regions whose stored chart was replaced (replace=true)
  int64_t rows_added = 0;
};

struct StoredDay {
  std::string date;
  int regions = 0;
  int64_t rows = 0;
  int64_t streams = 0;
};

class ChartStore {
 public:
  /// Opens (creating when absent) the store at `path`; Error when it is not an mfkit store.
  explicit ChartStore(const std::string& path);
  ~ChartStore();
  ChartStore(const ChartStore&) = delete;
  ChartStore& operator=(const ChartStore&) = delete;

  /// Adds one day's chart files (regional-<cc>-daily-*.csv or a charts_long.csv). `date` is
  /// YYYY-MM-DD. A region already stored for `date` with other content is an InputError unless
  /// `replace` is set.
  IngestReport ingest(const std::string& date, const std::vector<std::string>& files, bool replace = false);

  /// Stored days, oldest first.
  std::vector<StoredDay> days() const;

  /// Countries x tracks with streams summed over the last `last_days` stored dates (0 = all),
  /// with country names, titles and artists as labels. InputError when the store is empty.
  LoadResult load(int last_days = 0) const;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
  sqlite3* db_ = nullptr;
};

struct RefitOptions {
  std::string model = "implicit-als";                // registered model name
  std::string preset = "dotify";                     // its preset ("" = defaults)
  nlohmann::json params = nlohmann::json::object();  // overrides after the preset
  int last_days = 0;                                 // train on the last N stored dates (0 = all)
  Context ctx;                                       // threads and seed
  EpochCallback on_epoch;                            // progress
};

/// Trains a model on the store and writes it atomically to `out` (the previous file stays
/// whole until the new one is renamed over it). Returns a report (sizes, days, seconds).
nlohmann::json refit(const ChartStore& store, const std::string& out, const RefitOptions& opt);

/// True when `date` is a valid calendar date written YYYY-MM-DD.
bool valid_date(const std::string& date);

}  // namespace mfkit
