// biased-mf by DSGD across 2 and 4 processes (src/dist/sgd.cpp) and the held-out scoring across
// ranks (src/dist/evaluate.cpp): the fit learns what one process learns, and the RMSE the ranks
// report is the one the saved model gives in one process.
#include <gtest/gtest.h>

#include <iostream>
#include <nlohmann/json.hpp>

#include "dist/jobs.h"
#include "mfkit/model_file.h"

namespace mfkit {
namespace {

using test::joined;
using test::train_args;

// The test figures of a `--json` report on stdout (the JSON object printed last).
nlohmann::json test_part(const std::string& out) {
  const auto at = out.rfind("\n{");
  return nlohmann::json::parse(out.substr(at == std::string::npos ? out.find('{') : at + 1))["test"];
}

TEST(DistributedSgd, BiasedMfLearnsAsOneProcessAndScoresLikeTheSavedModel) {
  test::TempDir d;
  const auto lines = test::make_lines(12000, true);
  const std::string data = d.path("r.csv");
  test::write_lines(data, lines, 0, lines.size());
  const std::vector<std::string> set{"--set", "factors=8", "--set", "epochs=30"};
  auto one = train_args(data, "biased-mf", d.path("one.mfk"), set);
  one[std::find(one.begin(), one.end(), "none") - one.begin()] = "hash:0.9";
  auto r1 = test::run_cli(joined(one) + " --json");
  ASSERT_EQ(r1.code, 0) << r1.out;
  const nlohmann::json one_test = test_part(r1.out);
  const double ref = one_test["rmse"].get<double>();
  // The pattern is learnable: a biases-only model would be near 2 (ratings 1 and 5).
  EXPECT_LT(ref, 0.5);
  for (int n : {2, 4}) {
    const std::string out = d.path("dsgd" + std::to_string(n) + ".mfk");
    auto args = train_args(data, "biased-mf", out, set);
    args[std::find(args.begin(), args.end(), "none") - args.begin()] = "hash:0.9";
    args.push_back("--json");
    test::expect_all_ok(test::run_ranks(n, args, std::chrono::seconds(120), d.path("")));
    // Rank 0's report went to /dev/null; the saved model's meta carries the test figures.
    nlohmann::json meta;
    auto m = load_model(out, &meta);
    const double dist = meta["test"]["rmse"].get<double>();
    std::cout << "biased-mf, " << n << " ranks: test RMSE " << dist << " (one process " << ref << ")\n";
    EXPECT_NEAR(dist, ref, 0.05) << n << " ranks";
    EXPECT_EQ(meta["test"]["n"], one_test["n"]) << "the same cells are held out in every layout";
    EXPECT_EQ(m->seen().indices.size(), static_cast<size_t>(lines.size() - meta["test"]["n"].get<int64_t>()));
    // The same cells scored by the saved model in one process give the same RMSE.
    auto ev =
        test::run_cli("eval -f " + out + " --data " + data + " --format user,item,rating --split hash:0.9 --json");
    ASSERT_EQ(ev.code, 0) << ev.out;
    EXPECT_NEAR(test_part(ev.out)["rmse"].get<double>(), dist, 1e-5) << ev.out;
  }
}

TEST(DistributedSgd, RandomSplitsAreRefusedWithTheReason) {
  test::TempDir d;
  const std::string data = test::data_file(d, 300);
  auto args = train_args(data, "biased-mf", d.path("m.mfk"), {});
  args[std::find(args.begin(), args.end(), "none") - args.begin()] = "random:0.9";
  for (auto& r : test::run_ranks(2, args, std::chrono::seconds(30), d.path(""))) {
    EXPECT_NE(r.code, 0);
    EXPECT_NE(r.err.find("--split hash:F"), std::string::npos) << r.err;
  }
  EXPECT_FALSE(std::filesystem::exists(d.path("m.mfk")));
}

}  // namespace
}  // namespace mfkit
