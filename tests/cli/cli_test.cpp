// The CLI run as a user runs it: exit codes, error messages, train -> save -> use.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <nlohmann/json.hpp>

#include <array>
#include <cstdio>

#include "data/text_file.h"
#include "test_util.h"

namespace mfkit {
namespace {

using test::CliRun;
CliRun run(const std::string& args) { return test::run_cli(args); }

std::string ratings_file(const test::TempDir& d) {
  std::string s;
  for (int u = 0; u < 30; ++u)
    for (int i = 0; i < 20; ++i)
      if ((u + 2 * i) % 3 != 0)
        s += std::to_string(u) + "," + std::to_string(i) + "," + std::to_string(1 + (u * i) % 5) + "\n";
  return d.file("r.csv", s);
}

TEST(Cli, BrokenDataFileNamesTheLineAndExitsNonZero) {
  test::TempDir d;
  auto p = d.file("bad.csv", "1,2,3\n1,3,x\n");
  CliRun r = run("train -m biased-mf --data " + p + " --format user,item,rating -q");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find(p + ":2: rating 'x' is not a number"), std::string::npos) << r.out;
}

TEST(Cli, WrongFlagsAndParametersAreNamed) {
  CliRun a = run("train -m biased-mf --data synthetic --bogus");
  EXPECT_EQ(a.code, 2);
  EXPECT_NE(a.out.find("--bogus"), std::string::npos) << a.out;
  CliRun b = run("train -m biased-mf --data synthetic --set factors=0 -q");
  EXPECT_EQ(b.code, 1);
  EXPECT_NE(b.out.find("factors"), std::string::npos);
  EXPECT_NE(b.out.find("[1, 4096]"), std::string::npos) << b.out;
  CliRun c = run("train -m nope --data synthetic -q");
  EXPECT_EQ(c.code, 1);
  EXPECT_NE(c.out.find("biased-mf"), std::string::npos) << c.out;
  CliRun e = run("train -m als --data synthetic --threads 0");
  EXPECT_EQ(e.code, 2);
}

TEST(Cli, TrainSaveEvalPredictRecommendSimilar) {
  test::TempDir d;
  auto data = ratings_file(d);
  std::string m = d.path("m.mfk");
  CliRun t = run("train -m biased-mf --data " + data +
                 " --format user,item,rating --set epochs=5 --set factors=4 --out " + m + " --json -q");
  ASSERT_EQ(t.code, 0) << t.out;
  auto j = nlohmann::json::parse(t.out);
  EXPECT_EQ(j["model"], "biased-mf");
  EXPECT_TRUE(j["test"].contains("rmse"));
  EXPECT_TRUE(j["test"].contains("mae"));
  EXPECT_TRUE(j.contains("train_seconds"));
  // One time per epoch run, together within the fit's time.
  ASSERT_EQ(j["epoch_seconds"].size(), 5u);
  double epochs = 0;
  for (const auto& s : j["epoch_seconds"]) epochs += s.get<double>();
  EXPECT_GT(epochs, 0.0);
  EXPECT_LE(epochs, j["train_seconds"].get<double>());
  CliRun e = run("eval -f " + m + " --data " + data + " --format user,item,rating --json");
  ASSERT_EQ(e.code, 0) << e.out;
  EXPECT_DOUBLE_EQ(nlohmann::json::parse(e.out)["test"]["rmse"].get<double>(), j["test"]["rmse"].get<double>());
  CliRun p = run("predict -f " + m + " -u 1 -i 2 --json");
  ASSERT_EQ(p.code, 0) << p.out;
  EXPECT_TRUE(nlohmann::json::parse(p.out)[0]["known_user"].get<bool>());
  CliRun r = run("recommend -f " + m + " -u 1 -k 3 --json");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(nlohmann::json::parse(r.out)[0]["items"].size(), 3u);
  CliRun s = run("similar -f " + m + " -i 2 -k 2");
  EXPECT_EQ(s.code, 0) << s.out;
  CliRun u = run("recommend -f " + m + " -u nobody");
  EXPECT_EQ(u.code, 1);
  EXPECT_NE(u.out.find("unknown user 'nobody'"), std::string::npos) << u.out;
}

TEST(Cli, IndexBuildsIntoTheFileAndTrainCanFitOnEverything) {
  test::TempDir d;
  auto data = ratings_file(d);
  std::string m = d.path("m.mfk"), all = d.path("all.mfk");
  ASSERT_EQ(
      run("train -m implicit-als --data " + data + " --format user,item,rating --set factors=4 -q --out " + m).code, 0);
  CliRun i = run("index -f " + m + " --set M=8 --set ef_search=50 --json");
  ASSERT_EQ(i.code, 0) << i.out;
  EXPECT_EQ(nlohmann::json::parse(i.out)["index"]["M"], 8);
  CliRun r = run("recommend -f " + m + " -u 1 -k 3 --json"), e = run("recommend -f " + m + " -u 1 -k 3 --exact --json");
  ASSERT_EQ(r.code, 0) << r.out;
  ASSERT_EQ(e.code, 0) << e.out;
  EXPECT_EQ(nlohmann::json::parse(r.out)[0]["items"], nlohmann::json::parse(e.out)[0]["items"]);
  EXPECT_EQ(run("similar -f " + m + " -i 2 -k 2").code, 0);
  CliRun bad = run("index -f " + m + " --set M=1");
  EXPECT_EQ(bad.code, 1);
  EXPECT_NE(bad.out.find("M"), std::string::npos) << bad.out;
  // A model without inner-product scores is refused, and its file left as it was.
  std::string pop = d.path("pop.mfk");
  ASSERT_EQ(run("train -m popularity --data " + data + " --format user,item,rating -q --out " + pop).code, 0);
  CliRun p = run("index -f " + pop);
  EXPECT_EQ(p.code, 1);
  EXPECT_NE(p.out.find("inner products"), std::string::npos) << p.out;
  // --split none: everything trains, nothing is evaluated, the index comes from --set.
  CliRun t = run("train -m bpr --data " + data +
                 " --format user,item,rating --split none --set index=hnsw --set index.M=6 -q --json --out " + all);
  ASSERT_EQ(t.code, 0) << t.out;
  auto j = nlohmann::json::parse(t.out);
  EXPECT_TRUE(j["test"].is_null());
  EXPECT_EQ(j["n_test"], 0);
  EXPECT_EQ(j["n_train"], 400);
  EXPECT_TRUE(j.contains("index_seconds"));
  // The memory high-water mark after each stage that ran (never falling), and none for eval.
  const auto& rss = j["peak_rss_bytes"];
  ASSERT_TRUE(rss.is_object()) << t.out;
  EXPECT_FALSE(rss.contains("eval"));
  EXPECT_GT(rss["load"].get<int64_t>(), 0);
  int64_t last = 0;
  for (const char* stage : {"load", "split", "fit", "index", "save"}) {
    ASSERT_TRUE(rss.contains(stage)) << stage;
    EXPECT_GE(rss[stage].get<int64_t>(), last) << stage;
    last = rss[stage].get<int64_t>();
  }
  CliRun x = run("index -f " + all + " --drop --json");
  EXPECT_EQ(x.code, 0) << x.out;
  CliRun y = run("train -m bpr --data " + data + " --format user,item,rating --set index.M=6 -q");
  EXPECT_EQ(y.code, 1);
  EXPECT_NE(y.out.find("index=hnsw"), std::string::npos) << y.out;
}

TEST(Cli, TruncatedModelFileIsRefused) {
  test::TempDir d;
  std::string m = d.path("m.mfk");
  ASSERT_EQ(run("train -m als --data synthetic --set iterations=2 --out " + m + " -q").code, 0);
  std::string bytes = read_file(m);
  auto cut = d.file("cut.mfk", bytes.substr(0, bytes.size() * 2 / 3));
  CliRun r = run("predict -f " + cut + " -u u1 -i i1");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("truncated"), std::string::npos) << r.out;
}

TEST(Cli, SameSeedOneThreadGivesIdenticalPredictions) {
  test::TempDir d;
  std::string a = d.path("a.mfk"), b = d.path("b.mfk");
  ASSERT_EQ(run("train -m biased-mf --data synthetic --seed 7 --threads 1 --set epochs=4 -o " + a + " -q").code, 0);
  ASSERT_EQ(run("train -m biased-mf --data synthetic --seed 7 --threads 1 --set epochs=4 -o " + b + " -q").code, 0);
  CliRun pa = run("recommend -f " + a + " -u u3 -u u9 -k 20 --json");
  CliRun pb = run("recommend -f " + b + " -u u3 -u u9 -k 20 --json");
  ASSERT_EQ(pa.code, 0);
  EXPECT_EQ(pa.out, pb.out);
}

TEST(Cli, CountryArithmeticOnTheChartsData) {
  if (test::real_data("spotify-charts").empty()) GTEST_SKIP() << "MFKIT_DATA_DIR has no spotify-charts";
  test::TempDir d;
  std::string m = d.path("charts.mfk");
  CliRun t = run("train -m implicit-als --preset dotify --data spotify-charts --split user:0.2:50 -o " + m + " -q");
  ASSERT_EQ(t.code, 0) << t.out;
  CliRun q = run("query -f " + m + " \"Colombia x Turkey - Germany\" -k 5 --json");
  ASSERT_EQ(q.code, 0) << q.out;
  auto j = nlohmann::json::parse(q.out);
  ASSERT_EQ(j["items"].size(), 5u);
  for (const auto& song : j["items"]) {
    EXPECT_FALSE(song["title"].get<std::string>().empty());
    EXPECT_FALSE(song["category"].get<std::string>().empty());  // the artist
  }
  EXPECT_EQ(j["rows"][0], "Colombia");
  CliRun bad = run("query -f " + m + " \"Colombia x (Turkey - \"");
  EXPECT_EQ(bad.code, 1);
  EXPECT_NE(bad.out.find("at position 21"), std::string::npos) << bad.out;
}

TEST(Cli, DemoShowsRatingImplicitAndArithmetic) {
  CliRun r = run("demo --data synthetic --json");
  ASSERT_EQ(r.code, 0) << r.out;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["data"], "synthetic");
  ASSERT_GE(j["results"].size(), 3u);
  for (const auto& m : j["results"]) EXPECT_LT(m["test"]["rmse"].get<double>(), 1.0) << m["model"];
  // The implicit side: popularity, implicit-als and bpr ranked, all better than chance (on the
  // synthetic matrix, whose cells are observed by item popularity alone, popularity leads).
  ASSERT_EQ(j["implicit"].size(), 3u);
  EXPECT_EQ(j["implicit"][0]["model"], "popularity");
  for (const auto& m : j["implicit"]) {
    EXPECT_GT(m["test"]["auc"].get<double>(), 0.5) << m["model"];
    EXPECT_GT(m["test"]["ndcg"].get<double>(), 0.0) << m["model"];
  }
  // One country-arithmetic answer on the generated chart, each song with the countries it charts in.
  const auto& a = j["arithmetic"];
  EXPECT_EQ(a["query"], "Colombia x Turkey - Germany");
  ASSERT_EQ(a["items"].size(), 3u);
  for (const auto& it : a["items"]) EXPECT_GE(it["in"].size(), 1u) << it.dump();
}

TEST(Cli, DemoOnRealDataBeatsPopularityAndAnswersFromTheCharts) {
  if (test::real_data("ml-100k").empty() || test::real_data("spotify-charts").empty())
    GTEST_SKIP() << "MFKIT_DATA_DIR has no ml-100k or spotify-charts";
  CliRun r = run("demo --json");
  ASSERT_EQ(r.code, 0) << r.out;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["data"], "ml-100k");
  for (const auto& m : j["results"]) EXPECT_LT(m["test"]["rmse"].get<double>(), 0.95) << m["model"];
  const double popularity = j["implicit"][0]["test"]["ndcg"].get<double>();
  for (size_t k = 1; k < j["implicit"].size(); ++k)
    EXPECT_GT(j["implicit"][k]["test"]["ndcg"].get<double>(), popularity) << j["implicit"][k]["model"];
  EXPECT_NE(j["arithmetic"]["data"].get<std::string>().find("65 countries"), std::string::npos);
  ASSERT_EQ(j["arithmetic"]["items"].size(), 3u);
}

TEST(Cli, ModelsListsParametersWithDefaults) {
  CliRun r = run("models --json");
  ASSERT_EQ(r.code, 0);
  auto j = nlohmann::json::parse(r.out);
  ASSERT_GE(j.size(), 2u);
  EXPECT_EQ(j[0]["name"], "biased-mf");
  EXPECT_FALSE(j[0]["params"].empty());
  EXPECT_TRUE(j[0]["params"][0].contains("default"));
}

}  // namespace
}  // namespace mfkit
