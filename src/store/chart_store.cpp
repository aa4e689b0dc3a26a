#include "mfkit/store.h"

#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <map>

#include "core/clock.h"
#include "data/charts.h"
#include "data/digest.h"
#include "mfkit/error.h"

namespace mfkit {

namespace {

constexpr int kSchemaVersion = 1;

const char* kSchema = R"SQL(
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS charts(
  date TEXT NOT NULL, region TEXT NOT NULL, digest TEXT NOT NULL, source TEXT NOT NULL,
  rows INTEGER NOT NULL, ingested_at TEXT NOT NULL, PRIMARY KEY(date, region));
CREATE TABLE IF NOT EXISTS tracks(url TEXT PRIMARY KEY, title TEXT NOT NULL, artist TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS streams(
  date TEXT NOT NULL, region TEXT NOT NULL, position INTEGER NOT NULL, url TEXT NOT NULL,
  streams INTEGER NOT NULL, PRIMARY KEY(date, region, position));
)SQL";

// A prepared statement that finalizes itself.
class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql, const std::string& where) : db_(db), where_(where) {
    if (sqlite3_prepare_v2(db, sql, -1, &s_, nullptr) != SQLITE_OK) fail("prepare");
  }
  ~Stmt() { sqlite3_finalize(s_); }
  Stmt& text(int i, const std::string& v) {
    sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& integer(int i, int64_t v) {
    sqlite3_bind_int64(s_, i, v);
    return *this;
  }
  bool step() {
    int rc = sqlite3_step(s_);
    if (rc == SQLITE_ROW) return true;
    if (rc != SQLITE_DONE) fail("step");
    return false;
  }
  void run() {
    step();
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }
  std::string col_text(int i) const {
    auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s_, i));
    return p ? std::string(p, sqlite3_column_bytes(s_, i)) : std::string();
  }
  int64_t col_int(int i) const { return sqlite3_column_int64(s_, i); }

 private:
  [[noreturn]] void fail(const char* what) const {
    throw Error("chart store " + where_ + ": " + what + ": " + sqlite3_errmsg(db_));
  }
  sqlite3* db_;
  sqlite3_stmt* s_ = nullptr;
  std::string where_;
};

void exec(sqlite3* db, const char* sql, const std::string& where) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    throw Error("chart store " + where + ": " + msg);
  }
}

// SHA-256 over a region's rows: equal digests mean the same chart.
std::string rows_digest(const std::vector<ChartRow>& rows) {
  Digest d("sha256");
  for (const ChartRow& r : rows)
    d.update(std::to_string(r.position) + '\x1f' + r.url + '\x1f' + r.title + '\x1f' + r.artist + '\x1f' +
             std::to_string(r.streams) + '\x1e');
  return d.hex();
}

}  // namespace

bool valid_date(const std::string& d) {
  if (d.size() != 10 || d[4] != '-' || d[7] != '-') return false;
  for (int i : {0, 1, 2, 3, 5, 6, 8, 9})
    if (!std::isdigit(static_cast<unsigned char>(d[i]))) return false;
  int y = std::stoi(d.substr(0, 4)), m = std::stoi(d.substr(5, 2)), day = std::stoi(d.substr(8, 2));
  if (y < 1900 || m < 1 || m > 12 || day < 1) return false;
  static const int len[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return day <= len[m - 1] + (m == 2 && leap ? 1 : 0);
}

ChartStore::ChartStore(const std::string& path) : path_(path) {
  if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                      nullptr) != SQLITE_OK) {
    std::string msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    throw InputError(path, 0, "cannot open chart store: " + msg);
  }
  sqlite3_busy_timeout(db_, 10000);
  try {
    exec(db_, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;", path);
    exec(db_, kSchema, path);
    Stmt get(db_, "SELECT value FROM meta WHERE key='schema_version'", path);
    if (get.step()) {
      if (get.col_text(0) != std::to_string(kSchemaVersion))
        throw InputError(path, 0,
                         "chart store schema version " + get.col_text(0) + " is not supported (this mfkit reads " +
                             std::to_string(kSchemaVersion) + ")");
    } else {
      Stmt(db_, "INSERT INTO meta(key, value) VALUES('schema_version', ?1)", path)
          .text(1, std::to_string(kSchemaVersion))
          .run();
    }
  } catch (const Error& e) {
    sqlite3_close(db_);
    db_ = nullptr;
    if (dynamic_cast<const InputError*>(&e)) throw;
    throw InputError(path, 0, std::string("not an mfkit chart store: ") + e.what());
  }
}

ChartStore::~ChartStore() { sqlite3_close(db_); }

IngestReport ChartStore::ingest(const std::string& date, const std::vector<std::string>& files, bool replace) {
  if (!valid_date(date)) throw ParamError("ingest: date '" + date + "' is not a calendar date written YYYY-MM-DD");
  if (files.empty()) throw ParamError("ingest: no chart files given");
  // 1. Parse and check everything before writing anything.
  std::map<std::string, std::vector<ChartRow>> by_region;
  std::map<std::string, std::string> source;
  for (const std::string& f : files) {
    for (ChartRow& r : read_chart_file(f)) {
      auto [it, fresh] = source.emplace(r.region, f);
      if (!fresh && it->second != f)
        throw InputError(f, r.line,
                         "region " + r.region + " also comes from " + it->second + "; give each region once per day");
      by_region[r.region].push_back(std::move(r));
    }
  }
  for (auto& [region, rows] : by_region) {
    std::sort(rows.begin(), rows.end(), [](const ChartRow& a, const ChartRow& b) { return a.position < b.position; });
    for (size_t i = 1; i < rows.size(); ++i)
      if (rows[i].position == rows[i - 1].position)
        throw InputError(source[region], rows[i].line,
                         "position " + std::to_string(rows[i].position) + " appears twice in region " + region);
  }
  // 2. One transaction for the whole day.
  IngestReport rep;
  rep.date = date;
  exec(db_, "BEGIN IMMEDIATE", path_);
  try {
    Stmt old(db_, "SELECT digest FROM charts WHERE date=?1 AND region=?2", path_);
    Stmt del_chart(db_, "DELETE FROM charts WHERE date=?1 AND region=?2", path_);
    Stmt del_rows(db_, "DELETE FROM streams WHERE date=?1 AND region=?2", path_);
    Stmt add_chart(db_, "INSERT INTO charts(date, region, digest, source, rows, ingested_at) VALUES(?1,?2,?3,?4,?5,?6)",
                   path_);
    Stmt add_row(db_, "INSERT INTO streams(date, region, position, url, streams) VALUES(?1,?2,?3,?4,?5)", path_);
    Stmt add_track(db_,
                   "INSERT INTO tracks(url, title, artist) VALUES(?1,?2,?3) "
                   "ON CONFLICT(url) DO UPDATE SET title=excluded.title, artist=excluded.artist",
                   path_);
    std::string stamp = utc_timestamp();
    for (const auto& [region, rows] : by_region) {
      std::string digest = rows_digest(rows);
      old.text(1, date).text(2, region);
      bool exists = old.step();
      std::string prev = exists ? old.col_text(0) : "";
      old.run();
      if (exists && prev == digest) {
        rep.unchanged.push_back(region);
        continue;
      }
      if (exists && !replace)
        throw InputError(source[region], 0,
                         "the " + date + " chart of " + region +
                             " is already stored with other content; pass --replace to replace it");
      if (exists) {
        del_chart.text(1, date).text(2, region).run();
        del_rows.text(1, date).text(2, region).run();
        rep.replaced.push_back(region);
      } else {
        rep.added.push_back(region);
      }
      for (const ChartRow& r : rows) {
        add_track.text(1, r.url).text(2, r.title).text(3, r.artist).run();
        add_row.text(1, date).text(2, region).integer(3, r.position).text(4, r.url).integer(5, r.streams).run();
      }
      add_chart.text(1, date)
          .text(2, region)
          .text(3, digest)
          .text(4, source[region])
          .integer(5, static_cast<int64_t>(rows.size()))
          .text(6, stamp)
          .run();
      rep.rows_added += static_cast<int64_t>(rows.size());
    }
    exec(db_, "COMMIT", path_);
  } catch (...) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
  return rep;
}

std::vector<StoredDay> ChartStore::days() const {
  std::vector<StoredDay> out;
  Stmt q(db_,
         "SELECT c.date, COUNT(DISTINCT c.region), SUM(c.rows), "
         "(SELECT COALESCE(SUM(streams),0) FROM streams s WHERE s.date=c.date) "
         "FROM charts c GROUP BY c.date ORDER BY c.date",
         path_);
  while (q.step()) out.push_back({q.col_text(0), static_cast<int>(q.col_int(1)), q.col_int(2), q.col_int(3)});
  return out;
}

LoadResult ChartStore::load(int last_days) const {
  if (last_days < 0) throw ParamError("load: last_days must be >= 0 (0 = all days)");
  std::string from;
  {
    Stmt q(db_, "SELECT DISTINCT date FROM charts ORDER BY date DESC LIMIT ?1", path_);
    q.integer(1, last_days > 0 ? last_days : -1);
    while (q.step()) from = q.col_text(0);
  }
  if (from.empty()) throw InputError(path_, 0, "the chart store holds no days yet; run mfkit ingest first");
  Stmt q(db_,
         "SELECT s.region, s.url, t.title, t.artist, SUM(s.streams), MIN(s.position) FROM streams s "
         "JOIN tracks t ON t.url = s.url WHERE s.date >= ?1 GROUP BY s.region, s.url ORDER BY s.region, s.url",
         path_);
  q.text(1, from);
  std::vector<ChartRow> rows;
  while (q.step()) {
    ChartRow r;
    r.region = q.col_text(0);
    r.url = q.col_text(1);
    r.title = q.col_text(2);
    r.artist = q.col_text(3);
    r.streams = q.col_int(4);
    r.position = static_cast<int32_t>(q.col_int(5));
    rows.push_back(std::move(r));
  }
  return charts_to_data(rows);
}

}  // namespace mfkit
