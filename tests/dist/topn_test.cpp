// Batch top-N and ranking metrics across ranks (src/dist/topn.cpp, evaluate.cpp): every user's
// list written by its owner is the list `mfkit recommend` gives from the saved model, and the
// metrics the ranks report are the ones `mfkit eval` computes from it in one process.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

#include "dist/jobs.h"
#include "mfkit/data.h"
#include "mfkit/model_file.h"
#include "mfkit/split.h"

namespace mfkit {
namespace {

// user -> items in rank order, from every part-*.csv of `dir`.
std::map<std::string, std::vector<std::string>> read_lists(const std::string& dir, int parts) {
  std::map<std::string, std::vector<std::string>> out;
  for (int r = 0; r < parts; ++r) {
    std::ifstream f(dir + "/part-" + std::to_string(r) + "-of-" + std::to_string(parts) + ".csv");
    EXPECT_TRUE(f) << "part " << r;
    std::string line;
    std::getline(f, line);
    EXPECT_EQ(line, "user,rank,item,score");
    while (std::getline(f, line)) {
      std::stringstream ss(line);
      std::string user, rank, item;
      std::getline(ss, user, ',');
      std::getline(ss, rank, ',');
      std::getline(ss, item, ',');
      EXPECT_EQ(std::stoul(rank), out[user].size() + 1) << line;
      out[user].push_back(item);
    }
  }
  return out;
}

// Lines of a new user "zu" that the hash split holds out, all of them: a user with no training
// items, whose scores all tie (a zero vector), so its list is the tie order alone.
std::vector<std::string> held_out_user_lines(test::TempDir& d) {
  std::vector<std::string> candidates;
  for (int j = 1; j <= 60; ++j) candidates.push_back("zu,i" + std::to_string(j) + ",3");
  const std::string path = d.path("zu.csv");
  test::write_lines(path, candidates, 0, candidates.size());
  Split split = make_split(load_ratings(path, parse_format("user,item,rating", ",", false)).data, "hash:0.8", 1);
  std::vector<std::string> out;
  const Coo c = split.test.to_coo();
  for (size_t e = 0; e < c.size(); ++e) out.push_back("zu," + split.test.item_ids()->name(c.items[e]) + ",3");
  return out;
}

TEST(DistributedTopN, ListsAndMetricsAreTheSavedModelsInOneProcess) {
  test::TempDir d;
  auto all = test::make_lines(12000);
  const auto zu = held_out_user_lines(d);
  ASSERT_GE(zu.size(), 3u);
  all.insert(all.begin() + 5000, zu.begin(), zu.end());
  const std::string data = d.path("r.csv"), model = d.path("m.mfk"), lists_dir = d.path("top");
  test::write_lines(data, all, 0, all.size());
  auto args = test::train_args(data, "implicit-als", model, {"--set", "factors=8", "--set", "iterations=6"});
  args[std::find(args.begin(), args.end(), "none") - args.begin()] = "hash:0.8";
  args.insert(args.end(), {"--top-n", lists_dir, "-k", "5"});
  test::expect_all_ok(test::run_ranks(2, args, std::chrono::seconds(120), d.path("")));
  nlohmann::json meta;
  auto m = load_model(model, &meta);
  const nlohmann::json dist = meta["test"];
  auto ev =
      test::run_cli("eval -f " + model + " --data " + data + " --format user,item,rating --split hash:0.8 -k 5 --json");
  ASSERT_EQ(ev.code, 0) << ev.out;
  const auto one = nlohmann::json::parse(ev.out.substr(ev.out.find('{')))["test"];
  EXPECT_EQ(dist["users"], one["users"]);
  for (const char* key : {"precision", "recall", "ndcg", "map", "hit_rate"})
    EXPECT_NEAR(dist[key].get<double>(), one[key].get<double>(), 1e-9) << key;
  EXPECT_GT(dist["ndcg"].get<double>(), 0.0);

  const auto lists = read_lists(lists_dir, 2);
  EXPECT_EQ(static_cast<int32_t>(lists.size()), m->n_users());
  std::string users;
  for (const std::string u : {"u0", "u5", "u123", "u699", "zu"}) users += " -u " + u;  // zu: ties only
  auto rec = test::run_cli("recommend -f " + model + " -k 5 --json" + users);
  ASSERT_EQ(rec.code, 0) << rec.out;
  for (const auto& entry : nlohmann::json::parse(rec.out.substr(rec.out.find('[')))) {
    std::vector<std::string> items;
    for (const auto& it : entry["items"]) items.push_back(it["item"].get<std::string>());
    EXPECT_EQ(lists.at(entry["user"].get<std::string>()), items) << entry["user"];
  }
}

// Every pair on two lines, one in each rank's half of the file: the ranks merge the held-out
// cells by --duplicates as one process merges the lines, so each counts once.
TEST(DistributedTopN, HeldOutPairsReadByTwoRanksCountOnce) {
  test::TempDir d;
  auto lines = test::make_lines(6000);
  auto again = lines;
  std::shuffle(again.begin(), again.end(), std::mt19937(3));
  for (std::string& l : again) l.back() = static_cast<char>('1' + (l.back() - '1' + 2) % 5);  // another rating
  const std::string data = d.path("twice.csv");
  {
    std::ofstream f(data);
    for (const auto* part : {&lines, &again})
      for (const std::string& l : *part) f << l << "\n";
  }
  for (auto [model, dup] : {std::pair<std::string, std::string>{"implicit-als", "sum"}, {"als", "last"}}) {
    const std::string out = d.path(model + ".mfk");
    auto args =
        test::train_args(data, model, out, {"--set", "factors=8", "--set", "iterations=4", "--duplicates", dup});
    args[std::find(args.begin(), args.end(), "none") - args.begin()] = "hash:0.8";
    test::expect_all_ok(test::run_ranks(2, args, std::chrono::seconds(120), d.path("")));
    nlohmann::json meta;
    load_model(out, &meta);
    const nlohmann::json dist = meta["test"];
    auto ev = test::run_cli("eval -f " + out + " --data " + data + " --format user,item,rating --split hash:0.8 " +
                            "--duplicates " + dup + " --json");
    ASSERT_EQ(ev.code, 0) << ev.out;
    const auto one = nlohmann::json::parse(ev.out.substr(ev.out.find('{')))["test"];
    if (model == "implicit-als") {
      EXPECT_EQ(dist["users"], one["users"]);
      for (const char* key : {"precision", "recall", "ndcg", "map", "hit_rate"})
        EXPECT_NEAR(dist[key].get<double>(), one[key].get<double>(), 1e-9) << key;
    } else {
      EXPECT_EQ(dist["n"], one["n"]);
      EXPECT_NEAR(dist["rmse"].get<double>(), one["rmse"].get<double>(), 1e-5);
    }
  }
}

// In one process (no torchrun) --top-n writes its list too, instead of being ignored, and a model
// the partitioned path does not fit is refused naming the flag that asked for it.
TEST(DistributedTopN, OneProcessWritesTheListsOrSaysWhyNot) {
  test::TempDir d;
  auto lines = test::make_lines(3000);
  const std::string data = d.path("r.csv"), lists_dir = d.path("top");
  test::write_lines(data, lines, 0, lines.size());
  const std::string common = " --data " + data + " --format user,item,rating --split none -q --top-n " + lists_dir;
  // With --set index=hnsw (the gathered model gets its index, as a one-process fit's does).
  auto ok = test::run_cli("train -m implicit-als --set factors=4 --set iterations=2 -k 3 --set index=hnsw -o " +
                          d.path("m.mfk") + common);
  ASSERT_EQ(ok.code, 0) << ok.out;
  EXPECT_TRUE(load_model(d.path("m.mfk"))->index());
  const auto lists = read_lists(lists_dir, 1);
  EXPECT_GT(lists.size(), 100u);
  for (const auto& [user, items] : lists) EXPECT_EQ(items.size(), 3u) << user;
  auto refused = test::run_cli("train -m popularity" + common);
  EXPECT_EQ(refused.code, 1) << refused.out;
  EXPECT_NE(refused.out.find("--checkpoint, --top-n and --sharded"), std::string::npos) << refused.out;

  // A dataset by its name (found under MFKIT_DATA_DIR with its own format), as load_data finds it.
  std::filesystem::create_directories(d.path("data/ml-100k"));
  std::vector<std::string> tabbed;
  for (std::string l : lines) {
    std::replace(l.begin(), l.end(), ',', '\t');
    tabbed.push_back(l + "\t881250949");
  }
  test::write_lines(d.path("data/ml-100k/u.data"), tabbed, 0, tabbed.size());
  const std::string named_dir = d.path("named");
  auto named = test::run_cli(
      "train -m als --data ml-100k --split none -q --set factors=4 --set iterations=2 -k 2 "
      "--top-n " +
          named_dir,
      "MFKIT_DATA_DIR=" + d.path("data"));
  ASSERT_EQ(named.code, 0) << named.out;
  EXPECT_EQ(read_lists(named_dir, 1).size(), lists.size());
  auto missing = test::run_cli("train -m als --data ml-1m --split none -q --top-n " + named_dir,
                               "MFKIT_DATA_DIR=" + d.path("data"));
  EXPECT_EQ(missing.code, 1) << missing.out;
  EXPECT_NE(missing.out.find("dataset 'ml-1m' is not in"), std::string::npos) << missing.out;
}

}  // namespace
}  // namespace mfkit
