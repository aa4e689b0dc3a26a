// The CLI tried as a hostile or careless user would (issue 38): every bad file, value or flag
// gets a clear error naming what and where and a non-zero exit; none crashes, hangs or is
// silently ignored.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <chrono>

#include "data/text_file.h"
#include "mfkit/model_file.h"
#include "test_util.h"

namespace mfkit {
namespace {

using test::CliRun;
CliRun run(const std::string& args) { return test::run_cli(args); }

void expect_error(const CliRun& r, const std::string& words, int code = 1) {
  EXPECT_EQ(r.code, code) << r.out;
  EXPECT_NE(r.out.find(words), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("internal error"), std::string::npos) << r.out;
}

struct Fixture {
  test::TempDir d;
  std::string data, model;
  Fixture() {
    std::string s;
    for (int u = 0; u < 30; ++u)
      for (int i = 0; i < 20; ++i)
        if ((u + 2 * i) % 3 != 0)
          s += std::to_string(u) + "," + std::to_string(i) + "," + std::to_string(1 + (u * i) % 5) + "\n";
    data = d.file("r.csv", s);
    model = d.path("m.mfk");
    CliRun t = run("train -m biased-mf --data " + data +
                   " --format user,item,rating --set epochs=3 --set factors=4 -q -o " + model);
    EXPECT_EQ(t.code, 0) << t.out;
  }
};

TEST(CliBadInput, CraftedFilesAreRefusedNotCrashedOn) {
  Fixture f;
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  const std::string crafted = f.d.file(
      "deep.mfk",
      test::crafted_model_file(R"({"model_type":"biased-mf","params":{"factors":)" + deep + R"(},"tensors":[]})"));
  expect_error(run("recommend -f " + crafted + " -u 1"), "nested deeper than 64 levels");
  expect_error(run("train -m biased-mf --data " + f.data + " --format user,item,rating -q --config " +
                   f.d.file("deep.json", "{\"factors\":" + deep + "}")),
               "nested deeper than 64 levels");
  expect_error(run("recommend -f /dev/zero -u 1"), "/dev/zero: is a device");
  expect_error(run("recommend -f " + f.d.path() + " -u 1"), "is a folder");
}

TEST(CliBadInput, FoldersAndDevicesAreNamedWhereverAFileIsExpected) {
  Fixture f;
  const std::string dir = f.d.path();
  expect_error(run("train -m biased-mf --data " + dir + " --format user,item,rating -q"), "is a folder");
  expect_error(run("train -m biased-mf --data /dev/null --format user,item,rating -q"), "/dev/null: is a device");
  expect_error(run("train -m biased-mf --data " + f.data + " --format user,item,rating -q --config " + dir),
               "is a folder");
  expect_error(run("serve -f " + f.model + " --port 0 --api-key-file " + dir), "is a folder");
}

TEST(CliBadInput, FoldInValuesMustBeFiniteAndUserOrItemsNotBoth) {
  Fixture f;
  for (const char* v : {"nan", "inf", "-inf", "5x", ""})
    expect_error(run("recommend -f " + f.model + " --items 2=" + std::string(v)), "not a finite number");
  expect_error(run("recommend -f " + f.model + " -u 1 --items 2=5"), "not both");
  EXPECT_EQ(run("recommend -f " + f.model + " --items 2=5,3=1e0").code, 0);
}

TEST(CliBadInput, IdsThatAreNotUtf8InAModelFileStillPrintAsJson) {
  Fixture f;
  ModelFile m = read_model_file(f.model);
  std::vector<std::string> items = m.tensors["ids.items"].as_strings();
  for (auto& name : items) name = "caf\xe9" + name;  // Latin-1, not UTF-8
  m.tensors["ids.items"] = Tensor::strings(items);
  write_model_file(f.d.path("latin1.mfk"), m);
  CliRun r = run("recommend -f " + f.d.path("latin1.mfk") + " -u 1 -k 20 --json");
  ASSERT_EQ(r.code, 0) << r.out;
  nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_NE(j.dump().find("caf\xef\xbf\xbd"), std::string::npos) << r.out;  // U+FFFD
}

TEST(CliBadInput, OutputFolderIsCheckedBeforeTheFit) {
  Fixture f;
  auto t0 = std::chrono::steady_clock::now();
  CliRun r = run("train -m biased-mf --data " + f.data + " --format user,item,rating --set epochs=100000 -q -o " +
                 f.d.path("missing_folder/x.mfk"));
  expect_error(r, "cannot write model file " + f.d.path("missing_folder/x.mfk"));
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 20.0);
  expect_error(run("train -m biased-mf --data " + f.data + " --format user,item,rating -q -o " + f.d.path()),
               "it is a folder");
}

TEST(CliBadInput, SplitsAndParametersOutsideTheirRangeAreRefused) {
  Fixture f;
  const std::string train = "train -m biased-mf --data " + f.data + " --format user,item,rating -q ";
  expect_error(run(train + "--split loo:100000000"), "negatives");
  expect_error(run(train + "--split user:0.2:-5"), "minimum entries");
  expect_error(run(train + "--split kfold:1e12:0"), "folds");
  expect_error(run(train + "--set reg=nan"), "reg=nan: not a finite number");
  expect_error(run(train + "--set lr=inf"), "not a finite number");
}

TEST(CliBadInput, ThreadsPastTheCpusAreLoweredNotOversubscribed) {
  Fixture f;
  auto t0 = std::chrono::steady_clock::now();
  CliRun r = run("train -m biased-mf --data " + f.data + " --format user,item,rating --set epochs=3 --threads 256");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("--threads 256: this machine lets mfkit use"), std::string::npos) << r.out;
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 20.0);
  expect_error(run("train -m biased-mf --data " + f.data + " --threads 257"), "[1, 256]", 2);
}

}  // namespace
}  // namespace mfkit
