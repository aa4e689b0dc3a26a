#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>

#include "data/charts.h"
#include "mfkit/data.h"
#include "mfkit/error.h"
#include "test_util.h"

namespace mfkit {
namespace {

Format tsv() { return parse_format("user,item,rating,timestamp", "\t", false); }

TEST(ParseFormat, AcceptsColumnListsAndRejectsBadOnes) {
  Format f = parse_format("user,item,rating,_,timestamp", "::", true);
  EXPECT_EQ(f.columns.size(), 5u);
  EXPECT_EQ(f.columns[3], Column::kSkip);
  EXPECT_TRUE(f.header);
  EXPECT_THROW(parse_format("user,rating", ",", false), ParamError);
  EXPECT_THROW(parse_format("user,item,score", ",", false), ParamError);
  EXPECT_THROW(parse_format("user,item,item", ",", false), ParamError);
  EXPECT_THROW(parse_format("user,item", "", false), ParamError);
}

TEST(LoadRatings, ReadsTabSeparatedWithTimestamps) {
  test::TempDir d;
  auto p = d.file("u.data", "196\t242\t3\t881250949\n186\t302\t3\t891717742\n196\t302\t5\t1\n");
  LoadResult r = load_ratings(p, tsv());
  EXPECT_EQ(r.lines, 3);
  EXPECT_EQ(r.data.nnz(), 3);
  EXPECT_EQ(r.data.n_users(), 2);
  EXPECT_EQ(r.data.n_items(), 2);
  EXPECT_TRUE(r.data.has_times());
  EXPECT_EQ(r.data.user_ids()->name(0), "196");
}

TEST(LoadRatings, ReadsMultiCharSeparatorHeaderCrlfAndQuotes) {
  test::TempDir d;
  auto p = d.file("r.dat", "1::10::4.5::99\r\n2::11::3::100\r\n");
  EXPECT_EQ(load_ratings(p, parse_format("user,item,rating,timestamp", "::", false)).data.nnz(), 2);
  auto q = d.file("r.csv", "userId,movieId,rating\n\"a, b\",\"x\"\"y\",4\nc,z,2\n");
  Format f = parse_format("user,item,rating", ",", true);
  f.quoted = true;
  LoadResult r = load_ratings(q, f);
  EXPECT_EQ(r.data.user_ids()->name(0), "a, b");
  EXPECT_EQ(r.data.item_ids()->name(0), "x\"y");
}

void expect_input_error(const std::string& path, const Format& f, int64_t line, const std::string& words) {
  try {
    load_ratings(path, f);
    FAIL() << "expected an InputError for " << path;
  } catch (const InputError& e) {
    EXPECT_EQ(e.file(), path);
    EXPECT_EQ(e.line(), line) << e.what();
    EXPECT_NE(std::string(e.what()).find(words), std::string::npos) << e.what();
  }
}

TEST(LoadRatings, NamesFileAndLineOfEachProblem) {
  test::TempDir d;
  expect_input_error(d.file("a", "1\t2\t3\t4\n1\t2\n"), tsv(), 2, "expected 4 fields");
  expect_input_error(d.file("b", "1\t2\tfive\t4\n"), tsv(), 1, "rating 'five' is not a number");
  expect_input_error(d.file("c", "1\t2\t3\t4\n1\t3\tnan\t4\n"), tsv(), 2, "not finite");
  expect_input_error(d.file("d", "1\t2\t3\t4\n1\t3\t2\t4x\n"), tsv(), 2, "timestamp");
  expect_input_error(d.file("e", ""), tsv(), 0, "empty file");
  expect_input_error(d.file("f", "\t2\t3\t4\n"), tsv(), 1, "empty user id");
  expect_input_error(d.path("missing"), tsv(), 0, "cannot open");
  Format quoted = parse_format("user,item,rating", ",", false);
  quoted.quoted = true;
  expect_input_error(d.file("g", "\"a,b,3\n"), quoted, 1, "unterminated");
}

// Issue 38: a byte-order mark became part of the first user id (user "1" read as two users, and
// seen-item filtering then recommended an item the user had rated).
TEST(LoadRatings, ByteOrderMarkIsDroppedWithAndWithoutHeader) {
  test::TempDir d;
  const std::string bom = "\xEF\xBB\xBF";
  for (bool header : {false, true}) {
    Format f = parse_format("user,item,rating", ",", header);
    auto p =
        d.file(header ? "h.csv" : "n.csv", bom + (header ? "user,item,rating\n" : "") + "1,10,5\n1,11,4\n2,10,3\n");
    LoadResult r = load_ratings(p, f);
    EXPECT_EQ(r.data.n_users(), 2) << header;
    EXPECT_EQ(r.data.user_ids()->find("1"), 0) << header;
    EXPECT_EQ(r.data.by_user().row_size(0), 2) << header;
  }
}

// Ids are printed, written as JSON and served: bytes that are not UTF-8 are refused at load with
// the line (they used to load, and `recommend --json` then died in the JSON writer).
TEST(LoadRatings, IdsThatAreNotUtf8AreRefusedWithTheLine) {
  test::TempDir d;
  Format f = parse_format("user,item,rating", ",", false);
  expect_input_error(d.file("u", "1,10,5\n\xff\xfe,11,4\n"), f, 2, "user id '\\xff\\xfe' is not valid UTF-8");
  expect_input_error(d.file("i", "1,10,5\n2,caf\xe9,4\n"), f, 2, "item id 'caf\\xe9' is not valid UTF-8");
  LoadResult ok = load_ratings(d.file("ok", "jos\xc3\xa9,caf\xc3\xa9,4\n"), f);  // UTF-8 is fine
  EXPECT_EQ(ok.data.user_ids()->name(0), "jos\xc3\xa9");
}

// A folder or a device as the data file: said so (a folder used to give "read error", /dev/null
// "no such file", /dev/zero an unbounded read).
TEST(LoadRatings, FoldersAndDevicesAreNamedAsSuch) {
  test::TempDir d;
  expect_input_error(d.path(), tsv(), 0, "is a folder");
  expect_input_error("/dev/null", tsv(), 0, "is a device");
  expect_input_error("/dev/zero", tsv(), 0, "is a device");
}

TEST(LoadRatings, SkipsBadLinesOnlyWhenAskedAndCountsThem) {
  test::TempDir d;
  auto p = d.file("x", "1\t2\t3\t4\nbroken\n1\t3\tinf\t5\n2\t2\t1\t6\n");
  EXPECT_THROW(load_ratings(p, tsv()), InputError);
  LoadOptions o;
  o.skip_bad_lines = true;
  LoadResult r = load_ratings(p, tsv(), o);
  EXPECT_EQ(r.skipped, 2);
  EXPECT_EQ(r.data.nnz(), 2);
  ASSERT_EQ(r.problems.size(), 2u);
  EXPECT_NE(r.problems[0].find(":2:"), std::string::npos);
}

TEST(LoadRatings, ImplicitFormatWithoutRatingGivesOnes) {
  test::TempDir d;
  auto p = d.file("x", "a,b\na,c\n");
  LoadResult r = load_ratings(p, parse_format("user,item", ",", false));
  EXPECT_EQ(r.data.by_user().values, (std::vector<float>{1, 1}));
}

// A file of a few MB (so it is cut into pieces), with integer, zero-padded, long, negative and
// string ids, quoted fields, blanks around fields, CRLF line ends, extra fields, ratings written
// several ways, blank lines, timestamps and duplicates; `sep` between the fields.
std::string mixed_file(int lines, int bad_line = -1, const std::string& sep = ",") {
  std::string text = "user" + sep + "item" + sep + "rating" + sep + "time\n";
  uint64_t x = 12345;
  for (int l = 2; l <= lines + 1; ++l) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    uint32_t r = static_cast<uint32_t>(x >> 33);
    std::string u = r % 7 == 0    ? "u" + std::to_string(r % 500)
                    : r % 11 == 0 ? "0" + std::to_string(r % 300)
                                  : std::to_string(r % 3000);
    if (r % 101 == 0) u = " " + u;
    if (r % 103 == 0) u = "1234567890123456789" + std::to_string(r % 3);  // past 18 digits: a string
    if (r % 107 == 0) u = "-0";
    std::string i = r % 5 == 0 ? "\"it, " + std::to_string(r % 97) + "\"" : std::to_string(int64_t(r % 2000) - 1000);
    const std::string ratings[] = {std::to_string(1 + r % 5), "4.5", "+3", "1e0", " 2 ", "0.25"};
    std::string rating = ratings[(r >> 8) % 17 < 12 ? 0 : 1 + (r >> 8) % 5];
    std::string end = r % 13 == 0 ? "\r\n" : "\n";
    if (bad_line > 0 && l >= bad_line) {
      bad_line = -1;
      text += u + sep + i + sep + "oops" + sep + "1" + end;
    } else {
      text += u + sep + i + sep + rating + sep + std::to_string(r % 100000) + (r % 17 == 0 ? sep + "extra" : "") + end;
    }
    if (r % 1000 == 0) text += "\n", ++l;
  }
  return text;
}

void expect_same_load(const LoadResult& a, const LoadResult& b) {
  EXPECT_EQ(a.lines, b.lines);
  EXPECT_EQ(a.data.user_ids()->names(), b.data.user_ids()->names());
  EXPECT_EQ(a.data.item_ids()->names(), b.data.item_ids()->names());
  EXPECT_EQ(a.data.by_user().indptr, b.data.by_user().indptr);
  EXPECT_EQ(a.data.by_user().indices, b.data.by_user().indices);
  EXPECT_EQ(a.data.by_user().values, b.data.by_user().values);
  EXPECT_EQ(a.data.by_user().times, b.data.by_user().times);
  EXPECT_EQ(a.data.by_item().times, b.data.by_item().times);
  EXPECT_EQ(a.data.duplicates_merged(), b.data.duplicates_merged());
}

TEST(LoadRatings, PiecesInParallelGiveTheSameMatrixAndIdsAsOneThread) {
  test::TempDir d;
  std::string path = d.file("m.csv", mixed_file(120000));
  Format f = parse_format("user,item,rating,timestamp", ",", true);
  f.quoted = true;
  LoadOptions one, four;
  one.threads = 1;
  four.threads = 4;
  LoadResult a = load_ratings(path, f, one), b = load_ratings(path, f, four);
  expect_same_load(a, b);
  // Zero-padded ids are strings of their own, and every kind of id is found again.
  const IdMap& users = *b.data.user_ids();
  ASSERT_GE(users.find("07"), 0);
  EXPECT_NE(users.find("07"), users.find("7"));
  EXPECT_GE(b.data.item_ids()->find("it, 5"), 0);
  EXPECT_GE(b.data.item_ids()->find("-999"), 0);
  EXPECT_GT(b.data.duplicates_merged(), 0);
}

// A one-byte separator takes the reader that reads fields in place (the general one takes the
// lines it cannot); "::" takes the general reader for every line. Both give the same matrix.
TEST(LoadRatings, InPlaceReaderAgreesWithTheGeneralOne) {
  test::TempDir d;
  std::string fast_path = d.file("a.csv", mixed_file(60000));
  std::string general_path = d.file("b.txt", mixed_file(60000, -1, "::"));
  Format fast = parse_format("user,item,rating,timestamp", ",", true);
  Format general = parse_format("user,item,rating,timestamp", "::", true);
  fast.quoted = general.quoted = true;
  for (int threads : {1, 3}) {
    LoadOptions o;
    o.threads = threads;
    LoadResult a = load_ratings(fast_path, fast, o), b = load_ratings(general_path, general, o);
    expect_same_load(a, b);
    const IdMap& users = *a.data.user_ids();
    EXPECT_GE(users.find("12345678901234567890"), 0);
    EXPECT_GE(users.find("-0"), 0);
    EXPECT_NE(users.find("-0"), users.find("0"));
  }
}

TEST(LoadRatings, ALateBadLineIsNamedByItsLineInTheWholeFile) {
  test::TempDir d;
  std::string text = mixed_file(100000, 99990);
  std::string path = d.file("m.csv", text);
  Format f = parse_format("user,item,rating,timestamp", ",", true);
  f.quoted = true;
  LoadOptions o;
  o.threads = 3;
  try {
    load_ratings(path, f, o);
    FAIL() << "expected an InputError";
  } catch (const InputError& e) {
    // Count the line that holds "oops" the plain way.
    int64_t line = 1 + std::count(text.begin(), text.begin() + text.find("oops"), '\n');
    EXPECT_EQ(e.line(), line) << e.what();
    EXPECT_NE(std::string(e.what()).find("'oops' is not a number"), std::string::npos) << e.what();
  }
  o.skip_bad_lines = true;
  LoadResult r = load_ratings(path, f, o);
  EXPECT_EQ(r.skipped, 1);
  ASSERT_EQ(r.problems.size(), 1u);
  EXPECT_NE(r.problems[0].find(
                ":" + std::to_string(1 + std::count(text.begin(), text.begin() + text.find("oops"), '\n')) + ":"),
            std::string::npos)
      << r.problems[0];
}

TEST(LoadData, UnknownDatasetNameListsKnownOnes) {
  try {
    load_data("ml-2m", std::nullopt);
    FAIL();
  } catch (const NotFoundError& e) {
    EXPECT_NE(std::string(e.what()).find("ml-100k"), std::string::npos);
  }
  test::TempDir d;
  auto p = d.file("x.csv", "1,2,3\n");
  EXPECT_THROW(load_data(p, std::nullopt), ParamError);  // a file needs --format
}

TEST(Synthetic, IsDeterministicAndInRange) {
  auto a = synthetic_ratings(), b = synthetic_ratings();
  ASSERT_EQ(a.nnz(), b.nnz());
  EXPECT_EQ(a.by_user().values, b.by_user().values);
  EXPECT_GT(a.nnz(), 10000);
  for (float v : a.by_user().values) {
    EXPECT_GE(v, 1);
    EXPECT_LE(v, 5);
  }
}

// Real data, when MFKIT_DATA_DIR has it.
TEST(RealData, MovieLens100kCounts) {
  if (test::real_data("ml-100k/u.data").empty()) GTEST_SKIP() << "MFKIT_DATA_DIR has no ml-100k";
  LoadResult r = load_data("ml-100k", std::nullopt);
  EXPECT_EQ(r.data.nnz(), 100000);
  EXPECT_EQ(r.data.n_users(), 943);
  EXPECT_EQ(r.data.n_items(), 1682);
  auto info = load_item_info("ml-100k");
  ASSERT_EQ(info.size(), 1682u);
  EXPECT_EQ(info["1"].title, "Toy Story (1995)");
  EXPECT_EQ(info["1"].genres, "Animation|Children's|Comedy");
}

TEST(RealData, MovieLens1mLoadsInUnderASecond) {
  if (test::real_data("ml-1m").empty()) GTEST_SKIP() << "MFKIT_DATA_DIR has no ml-1m";
  auto t0 = std::chrono::steady_clock::now();
  LoadResult r = load_data("ml-1m", std::nullopt);
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(r.data.nnz(), 1000209);
  EXPECT_EQ(r.data.n_users(), 6040);
  EXPECT_EQ(r.data.n_items(), 3706);
  EXPECT_LT(s, 1.0);
}

TEST(RealData, LatestSmallAndLastfm) {
  if (!test::real_data("ml-latest-small").empty()) {
    LoadResult r = load_data("ml-latest-small", std::nullopt);
    EXPECT_EQ(r.data.nnz(), 100836);
    EXPECT_EQ(r.data.n_users(), 610);
    EXPECT_EQ(load_item_info("ml-latest-small").size(), 9742u);
  }
  if (!test::real_data("lastfm-2k").empty()) {
    LoadResult r = load_data("lastfm-2k", std::nullopt);
    EXPECT_EQ(r.data.nnz(), 92834);
    EXPECT_EQ(r.data.n_users(), 1892);
    EXPECT_EQ(r.data.n_items(), 17632);
  }
}

}  // namespace
}  // namespace mfkit

namespace mfkit {
namespace {

TEST(SpotifyCharts, ReadsRegionalFilesAndLongFormat) {
  test::TempDir d;
  const std::string note = ",,,\"Note that these figures are generated using a formula.\",\n";
  const std::string head = "Position,\"Track Name\",Artist,Streams,URL\n";
  d.file("raw/regional-co-daily-latest.csv",
         note + head + "1,Fiel,\"Los Legendarios\",124687,https://t/1\n2,\"Song, with comma\",X,1000,https://t/2\n");
  d.file("raw/regional-tr-daily-latest.csv", note + head + "1,Fiel,\"Los Legendarios\",5000,https://t/1\n");
  LoadResult r = load_spotify_charts(d.path("raw"));
  EXPECT_EQ(r.data.n_users(), 2);
  EXPECT_EQ(r.data.n_items(), 2);
  EXPECT_EQ(r.data.user_ids()->name(0), "CO");
  ASSERT_EQ(r.labels.item_titles.size(), 2u);
  EXPECT_EQ(r.labels.item_titles[1], "Song, with comma");
  EXPECT_EQ(r.labels.item_categories[0], "Los Legendarios");
  EXPECT_EQ(r.data.by_user().values[0], 124687.0f);
  auto p =
      d.file("long.csv",
             "Region,Position,Track Name,Artist,Streams,URL\nCO,1,Fiel,L,10,https://t/1\nDE,1,B,C,20,https://t/3\n");
  EXPECT_EQ(load_spotify_charts(p).data.nnz(), 2);
  auto bad =
      d.file("bad.csv",
             "Region,Position,Track Name,Artist,Streams,URL\nCO,1,Fiel,L,10,https://t/1\nDE,1,B,C,many,https://t/3\n");
  try {
    load_spotify_charts(bad);
    FAIL();
  } catch (const InputError& e) {
    EXPECT_EQ(e.line(), 3);
  }
}

TEST(RealData, SpotifyChartsWithCountryNames) {
  if (test::real_data("spotify-charts").empty()) GTEST_SKIP() << "MFKIT_DATA_DIR has no spotify-charts";
  LoadResult r = load_data("spotify-charts", std::nullopt);
  EXPECT_EQ(r.data.n_users(), 65);
  EXPECT_EQ(r.data.n_items(), 5054);
  EXPECT_EQ(r.data.nnz(), 12332);
  ASSERT_EQ(r.labels.user_names.size(), 65u);
}

}  // namespace
}  // namespace mfkit
