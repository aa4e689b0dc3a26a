// `data get` against a local HTTP server on loopback: checksum verified, archive unpacked,
// a wrong checksum or a hostile archive leaves nothing behind.
#include <httplib.h>
#include <zip.h>

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "data/text_file.h"
#include "mfkit/data.h"
#include "mfkit/error.h"
#include "mfkit/store.h"
#include "test_util.h"

namespace mfkit {
namespace {

std::string make_zip(const std::string& path, const std::vector<std::pair<std::string, std::string>>& entries) {
  int err = 0;
  zip_t* z = zip_open(path.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &err);
  EXPECT_NE(z, nullptr);
  for (const auto& [name, data] : entries) {
    zip_source_t* src = zip_source_buffer(z, data.data(), data.size(), 0);
    EXPECT_GE(zip_file_add(z, name.c_str(), src, ZIP_FL_OVERWRITE), 0);
  }
  EXPECT_EQ(zip_close(z), 0);
  return read_file(path);
}

class LocalServer {
 public:
  explicit LocalServer(std::string body) : body_(std::move(body)) {
    srv_.Get("/archive.zip",
             [this](const httplib::Request&, httplib::Response& res) { res.set_content(body_, "application/zip"); });
    port_ = srv_.bind_to_any_port("127.0.0.1");
    th_ = std::thread([this] { srv_.listen_after_bind(); });
    while (!srv_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~LocalServer() {
    srv_.stop();
    th_.join();
  }
  std::string url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(port_) + path; }

 private:
  std::string body_;
  httplib::Server srv_;
  int port_ = 0;
  std::thread th_;
};

TEST(FetchDataset, DownloadsVerifiesAndUnpacks) {
  test::TempDir d;
  std::string zip = make_zip(d.path("src.zip"), {{"tiny/u.data", "1\t1\t5\t1\n2\t1\t3\t2\n"}});
  LocalServer server(zip);
  DatasetSpec spec{"tiny",
                   "test",
                   {{"tiny/u.data", parse_format("user,item,rating,timestamp", "\t", false)}},
                   server.url("/archive.zip"),
                   "sha256:" + file_digest(d.path("src.zip"), "sha256"),
                   "",
                   false};
  fetch_dataset(spec, d.path("data"), "", 5);
  auto src = find_dataset(spec, d.path("data"));
  ASSERT_TRUE(src.has_value());
  EXPECT_EQ(load_ratings(src->path, src->format).data.nnz(), 2);
  // No staging folders are left behind.
  int entries = 0;
  for (auto& e : std::filesystem::directory_iterator(d.path("data"))) entries += e.path().filename().string()[0] == '.';
  EXPECT_EQ(entries, 0);
}

TEST(FetchDataset, RefusesAWrongChecksumAndInstallsNothing) {
  test::TempDir d;
  std::string zip = make_zip(d.path("src.zip"), {{"tiny/u.data", "1\t1\t5\t1\n"}});
  LocalServer server(zip);
  DatasetSpec spec{"tiny",
                   "test",
                   {{"tiny/u.data", parse_format("user,item,rating", "\t", false)}},
                   server.url("/archive.zip"),
                   "md5:00000000000000000000000000000000",
                   "",
                   false};
  try {
    fetch_dataset(spec, d.path("data"), "", 5);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("md5"), std::string::npos);
  }
  EXPECT_FALSE(find_dataset(spec, d.path("data")).has_value());
  EXPECT_TRUE(std::filesystem::is_empty(d.path("data")));
}

TEST(FetchDataset, RefusesPathTraversalAndMissingFiles) {
  test::TempDir d;
  std::string zip = make_zip(d.path("src.zip"), {{"../evil.txt", "x"}});
  LocalServer server(zip);
  DatasetSpec spec{"tiny",
                   "test",
                   {{"tiny/u.data", parse_format("user,item", "\t", false)}},
                   server.url("/archive.zip"),
                   "sha256:" + file_digest(d.path("src.zip"), "sha256"),
                   "",
                   false};
  EXPECT_THROW(fetch_dataset(spec, d.path("data"), "", 5), InputError);
  EXPECT_FALSE(std::filesystem::exists(d.path("evil.txt")));
  spec.url = server.url("/nothing-here.zip");
  EXPECT_THROW(fetch_dataset(spec, d.path("data"), "", 5), Error);
}

TEST(FileDigest, KnownValues) {
  test::TempDir d;
  auto p = d.file("abc", "abc");
  EXPECT_EQ(file_digest(p, "sha256"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(file_digest(p, "md5"), "900150983cd24fb0d6963f7d28e17f72");
}

}  // namespace
}  // namespace mfkit
