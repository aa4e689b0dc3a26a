#include "mfkit/model_file.h"

#include <gtest/gtest.h>

#include <signal.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "data/text_file.h"
#include "mfkit/data.h"
#include "mfkit/error.h"
#include "mfkit/registry.h"
#include "mfkit/version.h"
#include "test_util.h"

namespace mfkit {
namespace {

ModelFile sample() {
  ModelFile f;
  f.model_type = "biased-mf";
  f.params = {{"factors", 2}};
  f.meta = {{"note", "x"}};
  f.tensors["a"] = Tensor::f32({1.5f, -2.0f, 3.0f, 4.0f}, {2, 2});
  f.tensors["b"] = Tensor::i64({7, 8, 9});
  f.tensors["c"] = Tensor::strings({"alice", "", "bob"});
  return f;
}

TEST(ModelFile, RoundTrips) {
  test::TempDir d;
  write_model_file(d.path("m.mfk"), sample());
  ModelFile g = read_model_file(d.path("m.mfk"));
  EXPECT_EQ(g.model_type, "biased-mf");
  EXPECT_EQ(g.params["factors"], 2);
  EXPECT_EQ(g.meta["note"], "x");
  EXPECT_EQ(g.tensors["a"].as_f32(), (std::vector<float>{1.5f, -2.0f, 3.0f, 4.0f}));
  EXPECT_EQ(g.tensors["a"].shape, (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(g.tensors["b"].as_i64(), (std::vector<int64_t>{7, 8, 9}));
  EXPECT_EQ(g.tensors["c"].as_strings(), (std::vector<std::string>{"alice", "", "bob"}));
  // No temporary file is left beside it.
  int files = 0;
  for (auto& e : std::filesystem::directory_iterator(d.path())) files += e.is_regular_file();
  EXPECT_EQ(files, 1);
}

TEST(ModelFile, BorrowedTensorsAreWrittenAsTheirCopiesWouldBe) {
  // A tensor that borrows its array writes the same file as one that copied it.
  const std::vector<float> a = {1.5f, -2.0f, 3.0f, 4.0f};
  const std::vector<int64_t> b = {7, 8, 9};
  const std::vector<int32_t> c = {-1, 5};
  ModelFile f = sample();
  f.tensors["d"] = Tensor::i32(c);
  ModelFile g = f;
  g.tensors["a"] = Tensor::borrow(a, {2, 2});
  g.tensors["b"] = Tensor::borrow(b);
  g.tensors["d"] = Tensor::borrow(c);
  EXPECT_TRUE(g.tensors["a"].bytes.empty());
  EXPECT_EQ(g.tensors["a"].as_f32(), a);
  EXPECT_THROW(Tensor::borrow(a, {3, 2}), Error);
  test::TempDir d;
  write_model_file(d.path("copied.mfk"), f);
  write_model_file(d.path("borrowed.mfk"), g);
  EXPECT_EQ(read_file(d.path("copied.mfk")), read_file(d.path("borrowed.mfk")));
  EXPECT_EQ(read_model_file(d.path("borrowed.mfk")).tensors["d"].as_i32(), c);
}

void expect_refused(const std::string& path, const std::string& words) {
  try {
    read_model_file(path);
    FAIL() << "expected ModelFileError";
  } catch (const ModelFileError& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos);
    EXPECT_NE(std::string(e.what()).find(words), std::string::npos) << e.what();
  }
}

TEST(ModelFile, RefusesTruncatedCorruptedAndForeignFiles) {
  test::TempDir d;
  write_model_file(d.path("m.mfk"), sample());
  std::string bytes = read_file(d.path("m.mfk"));
  for (size_t cut : {bytes.size() - 1, bytes.size() / 2, size_t{30}, size_t{10}})
    expect_refused(d.file("cut" + std::to_string(cut), bytes.substr(0, cut)), "truncated");
  std::string flipped = bytes;
  flipped[bytes.size() / 2] ^= 0x5a;
  expect_refused(d.file("flip", flipped), "checksum");
  expect_refused(d.file("foreign", "hello world, not a model"), "bad magic");
  std::string future = bytes;
  future[8] = 99;
  expect_refused(d.file("future", future), "version 99");
  expect_refused(d.path("absent"), "cannot open");
}

TEST(ModelFile, WritingOverAnExistingFileIsAtomic) {
  test::TempDir d;
  write_model_file(d.path("m.mfk"), sample());
  ModelFile bad = sample();
  bad.tensors["a"].shape = {3, 3};  // does not match its bytes: the write must fail
  EXPECT_THROW(write_model_file(d.path("m.mfk"), bad), Error);
  EXPECT_NO_THROW(read_model_file(d.path("m.mfk")));
  EXPECT_THROW(write_model_file(d.path("no/such/dir/m.mfk"), sample()), Error);
}

// A file written by format version 1 must keep loading with the same predictions.
TEST(ModelFile, SavedModelsNameTheReleaseAndRevisionThatWroteThem) {
  test::TempDir d;
  auto model = create_model("popularity");
  model->fit(test::make_matrix({{"u0", "a", 1}, {"u1", "b", 1}}), {Context{1, 1}, nullptr, nullptr});
  save_model(*model, d.path("m.mfk"), {{"dataset", "tiny"}});
  ModelFile f = read_model_file(d.path("m.mfk"));
  EXPECT_EQ(f.meta["mfkit_version"], version());
  EXPECT_EQ(f.meta["mfkit_revision"], source_revision());
  EXPECT_EQ(f.meta["dataset"], "tiny");
}

// Files a hostile user crafts, each with a valid checksum: refused with the path, never a crash
// or an unbounded read (issue 38: the deep header crashed recommend, serve and mfkit.load).
TEST(ModelFile, RefusesCraftedFilesWithValidChecksums) {
  test::TempDir d;
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  expect_refused(d.file("deep.mfk", test::crafted_model_file(R"({"model_type":"biased-mf","params":{"factors":)" +
                                                             deep + R"(},"tensors":[]})")),
                 "nested deeper than 64 levels");
  // A header that declares more (or fewer) bytes than the file holds is refused before reading.
  const std::string one =
      R"({"model_type":"x","params":{},"tensors":[{"name":"a","dtype_code":3,"shape":[2],"offset":0,"nbytes":8}]})";
  expect_refused(d.file("short.mfk", test::crafted_model_file(one, std::string(4, 'x'))), "declares");
  expect_refused(d.file("long.mfk", test::crafted_model_file(one, std::string(12, 'x'))), "declares");
  EXPECT_NO_THROW(read_model_file(d.file("right.mfk", test::crafted_model_file(one, std::string(8, 'x')))));
  // Tensors that overlap, leave a gap or repeat a name.
  const std::string overlap =
      R"({"model_type":"x","params":{},"tensors":[{"name":"a","dtype_code":3,"shape":[2],"offset":0,"nbytes":8},{"name":"b","dtype_code":3,"shape":[2],"offset":4,"nbytes":8}]})";
  expect_refused(d.file("overlap.mfk", test::crafted_model_file(overlap, std::string(12, 'x'))),
                 "does not start where");
  const std::string twice =
      R"({"model_type":"x","params":{},"tensors":[{"name":"a","dtype_code":3,"shape":[1],"offset":0,"nbytes":4},{"name":"a","dtype_code":3,"shape":[1],"offset":4,"nbytes":4}]})";
  expect_refused(d.file("twice.mfk", test::crafted_model_file(twice, std::string(8, 'x'))), "listed twice");
  const std::string huge =
      R"({"model_type":"x","params":{},"tensors":[{"name":"a","dtype_code":1,"shape":[4294967296,4294967296],"offset":0,"nbytes":0}]})";
  expect_refused(d.file("huge.mfk", test::crafted_model_file(huge)), "more elements than");
}

// Devices, folders and pipes: /dev/zero used to be read until memory ran out.
TEST(ModelFile, RefusesDevicesAndFoldersAndReadsPipesOnlyAsFarAsDeclared) {
  test::TempDir d;
  expect_refused("/dev/zero", "is a device");
  expect_refused("/dev/null", "is a device");
  expect_refused(d.path(), "is a folder");
  // A pipe that goes on past what the header declares is refused once the declared bytes are read.
  const std::string fifo = d.path("pipe");
  ::signal(SIGPIPE, SIG_IGN);  // the writer outlives the reader that stopped at the end marker
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  write_model_file(d.path("m.mfk"), sample());
  std::string bytes = read_file(d.path("m.mfk"));
  std::thread writer([&] {
    std::ofstream out(fifo, std::ios::binary);
    out << bytes << std::string(1 << 20, 'z');
  });
  expect_refused(fifo, "past its end marker");
  writer.join();
  std::thread again([&] { std::ofstream(fifo, std::ios::binary) << bytes; });
  EXPECT_EQ(read_model_file(fifo).tensors.size(), 3u);
  again.join();
}

// Golden files of every model type: Conformance.GoldenFileStillLoadsAndAnswersTheSame.

}  // namespace
}  // namespace mfkit
