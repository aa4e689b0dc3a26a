// Checkpoints and --resume (src/dist/checkpoint.cpp): a job whose rank died mid-run resumes from
// the newest complete checkpoint and ends with exactly the model of an uninterrupted run; a resume
// with other settings or another number of ranks is refused, naming what differs.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iostream>

#include "dist/jobs.h"
#include "mfkit/model_file.h"

namespace mfkit {
namespace {

using test::joined;
using test::train_args;

std::vector<std::string> with(std::vector<std::string> a, const std::vector<std::string>& extra) {
  a.insert(a.end(), extra.begin(), extra.end());
  return a;
}

// Largest absolute difference between two models' user and item vectors (same id order).
float max_difference(const std::string& a, const std::string& b) {
  auto ma = load_model(a), mb = load_model(b);
  int k = 0;
  float worst = 0;
  for (auto [x, y] :
       {std::pair{ma->user_vectors(&k), mb->user_vectors(&k)}, {ma->item_vectors(&k), mb->item_vectors(&k)}}) {
    EXPECT_EQ(x.size(), y.size());
    for (size_t j = 0; j < std::min(x.size(), y.size()); ++j) worst = std::max(worst, std::abs(x[j] - y[j]));
  }
  return worst;
}

int latest(const std::string& dir, int rank, int ranks) {
  std::ifstream f(dir + "/rank-" + std::to_string(rank) + "-of-" + std::to_string(ranks) + ".latest");
  int t = 0;
  f >> t;
  return t;
}

TEST(Checkpoint, ARunKilledMidwayResumesToTheUninterruptedModel) {
  test::TempDir d;
  const std::string data = test::data_file(d, 12000), ck = d.path("ck");
  const std::vector<std::string> flags{"--set", "factors=8", "--checkpoint", ck};
  auto args = with(train_args(data, "biased-mf", d.path("m.mfk"), flags), {"--set", "epochs=100000"});
  args[std::find(args.begin(), args.end(), "30") - args.begin()] = "5";  // --timeout 5
  // Rank 1 dies once both ranks have passed checkpoint 3 (mid-run, wherever it is then).
  auto killed = test::run_ranks(2, args, std::chrono::seconds(90), d.path(""), 1, 0,
                                [&] { return std::min(latest(ck, 0, 2), latest(ck, 1, 2)) >= 3; });
  EXPECT_GT(killed[0].code, 0) << killed[0].err;
  EXPECT_FALSE(std::filesystem::exists(d.path("m.mfk")));
  const int t = std::min(latest(ck, 0, 2), latest(ck, 1, 2));
  ASSERT_GE(t, 3) << "rank 1 was not killed after a checkpoint";
  const std::string epochs = "epochs=" + std::to_string(t + 3);
  auto resumed = with(train_args(data, "biased-mf", d.path("resumed.mfk"), flags), {"--set", epochs, "--resume"});
  test::expect_all_ok(test::run_ranks(2, resumed, std::chrono::seconds(60), d.path("")));
  auto whole = with(train_args(data, "biased-mf", d.path("whole.mfk"), {"--set", "factors=8"}), {"--set", epochs});
  test::expect_all_ok(test::run_ranks(2, whole, std::chrono::seconds(60), d.path("")));
  std::cout << "killed after checkpoint " << t << "; resumed to " << t + 3 << " epochs\n";
  EXPECT_EQ(max_difference(d.path("resumed.mfk"), d.path("whole.mfk")), 0.0f);
}

TEST(Checkpoint, OneProcessAlsResumesToTheSameModel) {
  test::TempDir d;
  const std::string data = test::data_file(d, 5000), ck = d.path("ck");
  auto part = with(train_args(data, "als", d.path("half.mfk"), {"--set", "factors=8", "--checkpoint", ck}),
                   {"--set", "iterations=3"});
  auto r = test::run_cli(joined(part));
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(latest(ck, 0, 1), 3);
  auto rest = with(train_args(data, "als", d.path("resumed.mfk"), {"--set", "factors=8", "--checkpoint", ck}),
                   {"--set", "iterations=6", "--resume"});
  r = test::run_cli(joined(rest));
  ASSERT_EQ(r.code, 0) << r.out;
  // Through the same path (a checkpointed run orders ids by owner rank, as distributed runs do).
  r = test::run_cli(
      joined(with(train_args(data, "als", d.path("whole.mfk"), {"--set", "factors=8", "--checkpoint", d.path("ck2")}),
                  {"--set", "iterations=6"})));
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(max_difference(d.path("resumed.mfk"), d.path("whole.mfk")), 0.0f);
}

// --resume auto is the default: the same command continues by itself (as torchrun's restart of
// it does); a checkpoint past the run's end is refused; --resume never starts over.
TEST(Checkpoint, TheSameCommandContinuesByItself) {
  test::TempDir d;
  const std::string data = test::data_file(d, 3000), ck = d.path("ck");
  auto run = [&](const std::string& iterations, std::vector<std::string> extra) {
    auto args = with(train_args(data, "als", d.path("m.mfk"), {"--set", "factors=8", "--checkpoint", ck}),
                     {"--set", "iterations=" + iterations});
    return test::run_cli(joined(with(args, extra)));
  };
  auto r = run("3", {});
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(r.out.find("resumed"), std::string::npos) << r.out;
  r = run("5", {});
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("resumed after iteration 3"), std::string::npos) << r.out;
  r = run("2", {});
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.out.find("past this run's 2"), std::string::npos) << r.out;
  r = run("2", {"--resume", "never"});
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(r.out.find("resumed"), std::string::npos) << r.out;
  EXPECT_EQ(latest(ck, 0, 1), 2);
}

TEST(Checkpoint, AResumeWithOtherSettingsOrRanksIsRefused) {
  test::TempDir d;
  const std::string data = test::data_file(d, 3000), ck = d.path("ck");
  const std::vector<std::string> flags{"--set", "factors=8", "--set", "epochs=2", "--checkpoint", ck};
  test::expect_all_ok(
      test::run_ranks(2, train_args(data, "biased-mf", d.path("m.mfk"), flags), std::chrono::seconds(60), d.path("")));
  auto other = with(train_args(data, "biased-mf", d.path("m2.mfk"), flags), {"--set", "reg=0.5", "--resume"});
  for (auto& r : test::run_ranks(2, other, std::chrono::seconds(60), d.path(""))) {
    EXPECT_NE(r.code, 0);
    EXPECT_NE(r.err.find("params.reg was 0.045, now 0.5"), std::string::npos) << r.err;
  }
  auto one = test::run_cli(joined(with(train_args(data, "biased-mf", d.path("m3.mfk"), flags), {"--resume"})));
  EXPECT_NE(one.code, 0);
  EXPECT_NE(one.out.find("another number of ranks"), std::string::npos) << one.out;
  EXPECT_FALSE(std::filesystem::exists(d.path("m2.mfk")));
  EXPECT_FALSE(std::filesystem::exists(d.path("m3.mfk")));
}

}  // namespace
}  // namespace mfkit
