// The dotify chart store: each day once, malformed days rejected whole, loads as countries x tracks.
#include <gtest/gtest.h>

#include "mfkit/data.h"
#include "mfkit/error.h"
#include "mfkit/store.h"
#include "test_util.h"

namespace mfkit {
namespace {

std::vector<std::string> three_countries(const std::string& dir, const std::string& date, long scale = 1) {
  return {test::chart_file(dir, "co", date, {{1, 900 * scale}, {2, 800}, {3, 700}}),
          test::chart_file(dir, "tr", date, {{3, 500 * scale}, {4, 400}}),
          test::chart_file(dir, "de", date, {{4, 300 * scale}, {5, 200}, {1, 100}})};
}

TEST(ChartStore, IngestingTheSameDayTwiceLeavesTheStoreUnchanged) {
  test::TempDir d;
  std::string db = d.path("s.db");
  auto files = three_countries(d.path("day1"), "2021-04-24");
  {
    ChartStore s(db);
    IngestReport r = s.ingest("2021-04-24", files);
    EXPECT_EQ(r.added.size(), 3u);
    EXPECT_EQ(r.rows_added, 8);
  }
  std::string before = file_digest(db, "sha256");
  {
    ChartStore s(db);
    IngestReport r = s.ingest("2021-04-24", files);
    EXPECT_TRUE(r.added.empty());
    EXPECT_EQ(r.unchanged.size(), 3u);
    EXPECT_EQ(r.rows_added, 0);
    ASSERT_EQ(s.days().size(), 1u);
    EXPECT_EQ(s.days()[0].rows, 8);
  }
  EXPECT_EQ(file_digest(db, "sha256"), before);
}

TEST(ChartStore, AMalformedFileRejectsTheWholeDayAndNamesItsLine) {
  test::TempDir d;
  auto files = three_countries(d.path("day"), "2021-04-24");
  // Line 4 of the Turkish file gets a bad stream count.
  std::string bad = d.file("day/regional-tr-daily-2021-04-24.csv",
                           ",,,\"Note\",\nPosition,\"Track "
                           "Name\",Artist,Streams,URL\n1,\"A\",B,100,https://x/1\n2,\"C\",D,lots,https://x/2\n");
  ChartStore s(d.path("s.db"));
  try {
    s.ingest("2021-04-24", files);
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("regional-tr-daily-2021-04-24.csv"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(":4"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("lots"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(s.days().empty()) << "nothing may be half-written";
  EXPECT_THROW(s.load(), InputError);
}

TEST(ChartStore, OtherContentForAStoredDayIsRefusedUnlessReplaced) {
  test::TempDir d;
  ChartStore s(d.path("s.db"));
  s.ingest("2021-04-24", three_countries(d.path("a"), "2021-04-24"));
  auto changed = three_countries(d.path("b"), "2021-04-24", 2);
  EXPECT_THROW(s.ingest("2021-04-24", changed), InputError);
  EXPECT_EQ(s.load().data.nnz(), 8);
  float co_t1 = 0;
  IngestReport r = s.ingest("2021-04-24", changed, /*replace=*/true);
  EXPECT_EQ(r.replaced.size(), 3u);
  LoadResult l = s.load();
  int32_t co = l.data.user_ids()->find("CO"), t1 = l.data.item_ids()->find("https://open.spotify.com/track/t1");
  const Csr& by_user = l.data.by_user();
  for (int64_t e = by_user.indptr[co]; e < by_user.indptr[co + 1]; ++e)
    if (by_user.indices[e] == t1) co_t1 = by_user.values[e];
  EXPECT_EQ(co_t1, 1800.0f);
}

TEST(ChartStore, LoadSumsStreamsOverTheLastDays) {
  test::TempDir d;
  ChartStore s(d.path("s.db"));
  s.ingest("2021-04-23", three_countries(d.path("a"), "2021-04-23"));
  s.ingest("2021-04-24", {test::chart_file(d.path("b"), "co", "2021-04-24", {{1, 50}, {9, 10}})});
  ASSERT_EQ(s.days().size(), 2u);
  LoadResult all = s.load();
  EXPECT_EQ(all.data.n_users(), 3);
  EXPECT_EQ(all.data.n_items(), 6);
  LoadResult last = s.load(1);
  EXPECT_EQ(last.data.n_users(), 1);
  EXPECT_EQ(last.data.nnz(), 2);
  ASSERT_EQ(all.labels.user_names.size(), 3u);
  EXPECT_EQ(all.labels.user_names[all.data.user_ids()->find("CO")], "Colombia");
  EXPECT_EQ(all.labels.item_titles[all.data.item_ids()->find("https://open.spotify.com/track/t9")], "Song 9");
}

TEST(ChartStore, BadDatesDuplicateRegionsAndForeignFilesAreClearErrors) {
  test::TempDir d;
  ChartStore s(d.path("s.db"));
  auto files = three_countries(d.path("a"), "2021-04-24");
  EXPECT_THROW(s.ingest("2021-02-30", files), ParamError);
  EXPECT_THROW(s.ingest("24/04/2021", files), ParamError);
  std::string again = test::chart_file(d.path("b"), "co", "2021-04-24", {{1, 5}});
  files.push_back(again);
  EXPECT_THROW(s.ingest("2021-04-24", files), InputError);
  EXPECT_TRUE(s.days().empty());
  std::string junk = d.file("junk.db", std::string(4096, 'x'));
  EXPECT_THROW(ChartStore{junk}, InputError);
}

TEST(ChartStore, RealChartsIngestOnce) {
  std::string raw = test::real_data("spotify-charts/raw");
  if (raw.empty()) GTEST_SKIP() << "MFKIT_DATA_DIR/spotify-charts not available";
  test::TempDir d;
  ChartStore s(d.path("s.db"));
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::directory_iterator(raw)) files.push_back(e.path().string());
  IngestReport r = s.ingest("2021-04-24", files);
  EXPECT_EQ(r.added.size(), 65u);
  EXPECT_EQ(r.rows_added, 12332);
  EXPECT_EQ(s.ingest("2021-04-24", files).unchanged.size(), 65u);
  EXPECT_EQ(s.load().data.n_items(), 5054);
}

}  // namespace
}  // namespace mfkit
