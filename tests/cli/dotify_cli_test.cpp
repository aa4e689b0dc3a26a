// dotify from the command line: ingest (once per day), refit (atomic), and a crash mid-refit.
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <thread>

#include "mfkit/data.h"
#include "mfkit/model_file.h"
#include "mfkit/store.h"
#include "test_util.h"

extern char** environ;

namespace mfkit {
namespace {

using test::CliRun;
CliRun run(const std::string& args) { return test::run_cli(args); }

std::string make_day(const test::TempDir& d, const std::string& date) {
  std::string dir = d.path("charts-" + date);
  const char* cc[] = {"co", "tr", "de", "mx", "fr"};
  for (int c = 0; c < 5; ++c) {
    std::vector<std::pair<int, long>> tracks;
    for (int t = 0; t < 15; ++t)
      if ((c + t) % 3 != 0) tracks.push_back({t, 10000 - 300 * t + 50 * c});
    test::chart_file(dir, cc[c], date, tracks);
  }
  return dir;
}

TEST(DotifyCli, IngestTwiceThenRefitAndList) {
  test::TempDir d;
  std::string day = make_day(d, "2021-04-24"), store = d.path("s.db"), model = d.path("m.mfk");
  CliRun a = run("ingest --store " + store + " " + day);
  ASSERT_EQ(a.code, 0) << a.out;
  EXPECT_NE(a.out.find("5 regions added"), std::string::npos) << a.out;
  std::string digest = file_digest(store, "sha256");
  CliRun b = run("ingest --store " + store + " " + day);
  ASSERT_EQ(b.code, 0) << b.out;
  EXPECT_NE(b.out.find("0 regions added"), std::string::npos) << b.out;
  EXPECT_EQ(file_digest(store, "sha256"), digest);
  CliRun r = run("refit --store " + store + " --out " + model + " --quiet");
  ASSERT_EQ(r.code, 0) << r.out;
  auto m = load_model(model);
  EXPECT_EQ(m->n_users(), 5);
  CliRun q = run("query --model-file " + model + " \"Colombia x Turkey - Germany\"");
  EXPECT_EQ(q.code, 0) << q.out;
  CliRun list = run("ingest --store " + store + " --list");
  EXPECT_NE(list.out.find("2021-04-24"), std::string::npos) << list.out;
}

TEST(DotifyCli, IngestErrorsAreNamedAndExitNonZero) {
  test::TempDir d;
  std::string store = d.path("s.db");
  std::string latest = d.path("latest");
  test::chart_file(latest, "co", "latest", {{1, 10}});
  CliRun nodate = run("ingest --store " + store + " " + latest);
  EXPECT_EQ(nodate.code, 1);
  EXPECT_NE(nodate.out.find("--date"), std::string::npos) << nodate.out;
  std::string bad = d.file("bad/regional-co-daily-2021-04-24.csv",
                           ",,,\"Note\",\nPosition,\"Track Name\",Artist,Streams,URL\n1,\"A\",B,many,https://x/1\n");
  CliRun malformed = run("ingest --store " + store + " " + bad);
  EXPECT_EQ(malformed.code, 1);
  EXPECT_NE(malformed.out.find("regional-co-daily-2021-04-24.csv:3"), std::string::npos) << malformed.out;
  CliRun refit = run("refit --store " + store + " --out " + d.path("m.mfk"));
  EXPECT_EQ(refit.code, 1);
  EXPECT_NE(refit.out.find("no days"), std::string::npos) << refit.out;
}

TEST(DotifyCli, ACrashMidRefitLeavesTheServedModelIntact) {
  test::TempDir d;
  std::string store = d.path("s.db"), model = d.path("m.mfk");
  ASSERT_EQ(run("ingest --store " + store + " " + make_day(d, "2021-04-24")).code, 0);
  ASSERT_EQ(run("refit --store " + store + " --out " + model + " --quiet").code, 0);
  std::string before = file_digest(model, "sha256");
  // A refit that runs for minutes, killed with SIGKILL after a second.
  std::vector<std::string> args = {MFKIT_CLI_PATH, "refit",    "--store", store,   "--out",         model,    "--model",
                                   "shallow-net",  "--preset", "arch1",   "--set", "epochs=100000", "--quiet"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  ASSERT_EQ(posix_spawn(&pid, argv[0], nullptr, nullptr, argv.data(), environ), 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, WNOHANG), 0) << "the refit ended before it could be killed";
  ::kill(pid, SIGKILL);
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status));
  EXPECT_EQ(file_digest(model, "sha256"), before);
  auto m = load_model(model);
  EXPECT_EQ(m->type(), "implicit-als");
}

}  // namespace
}  // namespace mfkit
