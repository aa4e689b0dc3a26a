// Sharded model files (src/io/sharded.cpp, written by src/dist/train.cpp): every rank writes its
// part, rank 0 the manifest; loading the manifest gives exactly the model gathered on rank 0, and
// a missing, swapped or damaged part is named instead of loading a wrong model.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "dist/jobs.h"
#include "mfkit/error.h"
#include "mfkit/model_file.h"
#include "mfkit/recommend.h"

namespace mfkit {
namespace {

using test::train_args;

TEST(ShardedModel, LoadsAsTheGatheredModelAndRefusesAWrongPart) {
  test::TempDir d;
  const std::string data = test::data_file(d, 8000);
  const std::vector<std::string> set{"--set", "factors=8", "--set", "iterations=3"};
  test::expect_all_ok(test::run_ranks(2, train_args(data, "implicit-als", d.path("one.mfk"), set),
                                      std::chrono::seconds(60), d.path("")));
  auto sharded = train_args(data, "implicit-als", d.path("s.mfk"), set);
  sharded.push_back("--sharded");
  test::expect_all_ok(test::run_ranks(2, sharded, std::chrono::seconds(60), d.path("")));
  ASSERT_TRUE(std::filesystem::exists(d.path("s.mfk.part-0-of-2")));
  ASSERT_TRUE(std::filesystem::exists(d.path("s.mfk.part-1-of-2")));
  auto a = load_model(d.path("one.mfk")), b = load_model(d.path("s.mfk"));
  ASSERT_EQ(a->user_ids()->names(), b->user_ids()->names());
  ASSERT_EQ(a->item_ids()->names(), b->item_ids()->names());
  EXPECT_EQ(a->seen().indptr, b->seen().indptr);
  EXPECT_EQ(a->seen().indices, b->seen().indices);
  int k = 0;
  EXPECT_EQ(a->user_vectors(&k), b->user_vectors(&k));
  EXPECT_EQ(a->item_vectors(&k), b->item_vectors(&k));
  RecommendOptions o;
  o.k = 5;
  auto ra = recommend(*a, {0, 17, 400}, o), rb = recommend(*b, {0, 17, 400}, o);
  ASSERT_EQ(ra.size(), rb.size());
  for (size_t u = 0; u < ra.size(); ++u) {
    ASSERT_EQ(ra[u].size(), rb[u].size());
    for (size_t j = 0; j < ra[u].size(); ++j) EXPECT_EQ(ra[u][j].index, rb[u][j].index);
  }
  // The CLI reads it like any model file.
  auto r = test::run_cli("recommend -f " + d.path("s.mfk") + " --user u17 -k 3");
  EXPECT_EQ(r.code, 0) << r.out;

  // A part from another job (a valid model file, another checksum) is named, not loaded.
  std::filesystem::copy_file(d.path("s.mfk.part-1-of-2"), d.path("keep"));
  auto other = test::run_cli("train -m als --data " + data + " --format user,item,rating --split none -q -o " +
                             d.path("s.mfk.part-1-of-2"));
  ASSERT_EQ(other.code, 0) << other.out;
  try {
    load_model(d.path("s.mfk"));
    ADD_FAILURE() << "a swapped part loaded";
  } catch (const ModelFileError& e) {
    EXPECT_NE(std::string(e.what()).find("part 1"), std::string::npos) << e.what();
  }
  // A truncated part fails its own checksum; a missing one is named by its path.
  std::filesystem::resize_file(d.path("s.mfk.part-1-of-2"), 100);
  EXPECT_THROW(load_model(d.path("s.mfk")), ModelFileError);
  std::filesystem::remove(d.path("s.mfk.part-1-of-2"));
  r = test::run_cli("recommend -f " + d.path("s.mfk") + " --user u17 -k 3");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.out.find("s.mfk.part-1-of-2"), std::string::npos) << r.out;
  std::filesystem::rename(d.path("keep"), d.path("s.mfk.part-1-of-2"));
  EXPECT_NO_THROW(load_model(d.path("s.mfk")));
}

}  // namespace
}  // namespace mfkit
