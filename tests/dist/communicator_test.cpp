// The Gloo communicator across real processes on loopback: 2 and 4 ranks, a rank started with
// other parameters, a rank that dies and one that stops answering (every job bounded in time).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include "dist/ranks.h"
#include "mfkit/communicator.h"
#include "test_util.h"

extern char** environ;

namespace mfkit {
namespace {

using test::Rank;

// Starts `n` comm_worker processes in `mode` and waits for all of them, at most `limit`.
std::vector<Rank> run_job(int n, const std::string& mode, int timeout_ms, std::chrono::seconds limit,
                          const std::string& dir) {
  return test::run_ranks(n, {MFKIT_DIST_WORKER_PATH, mode, std::to_string(timeout_ms)}, limit, dir);
}

TEST(Communicator, CollectivesAgreeOnTwoAndFourRanks) {
  test::TempDir d;
  for (int n : {1, 2, 4}) {
    auto ranks = run_job(n, "collectives", 20000, std::chrono::seconds(60), d.path(""));
    for (int r = 0; r < n; ++r) EXPECT_EQ(ranks[r].code, 0) << n << " ranks, rank " << r << ": " << ranks[r].err;
  }
}

TEST(Communicator, RanksStartedDifferentlyAreRefused) {
  test::TempDir d;
  auto ranks = run_job(3, "differ", 20000, std::chrono::seconds(60), d.path(""));
  for (int r = 0; r < 3; ++r) {
    EXPECT_EQ(ranks[r].code, 2) << ranks[r].err;
    EXPECT_NE(ranks[r].err.find("ranks 1 were started with other parameters than rank 0"), std::string::npos)
        << ranks[r].err;
  }
}

TEST(Communicator, ADeadRankFailsTheOthersCleanly) {
  test::TempDir d;
  auto ranks = run_job(3, "die", 5000, std::chrono::seconds(60), d.path(""));
  EXPECT_EQ(ranks[1].code, 3);
  for (int r : {0, 2}) {
    EXPECT_EQ(ranks[r].code, 2) << ranks[r].err;
    EXPECT_NE(ranks[r].err.find("step 'gram'"), std::string::npos) << ranks[r].err;
    EXPECT_LT(ranks[r].seconds, 30.0);
  }
}

TEST(Communicator, ARankThatStopsAnsweringTimesOut) {
  test::TempDir d;
  auto ranks = run_job(2, "hang", 3000, std::chrono::seconds(20), d.path(""));
  EXPECT_EQ(ranks[0].code, 2) << ranks[0].err;
  EXPECT_EQ(ranks[1].code, 5);
  EXPECT_NE(ranks[0].err.find("rank 0 of 2, step 'gram'"), std::string::npos) << ranks[0].err;
  EXPECT_LT(ranks[0].seconds, 11.0);  // before rank 1 is gone (12 s): the timeout, not the closed socket
}

TEST(Communicator, TorchrunThroughTheLauncherScript) {
  if (std::system("command -v torchrun >/dev/null 2>&1") != 0) GTEST_SKIP() << "torchrun not installed (python3-torch)";
  const std::string cmd =
      std::string("timeout 120 ") + MFKIT_LAUNCH_SCRIPT + " 2 " + MFKIT_DIST_WORKER_PATH + " collectives 20000 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  int status = pclose(p);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << out;
  EXPECT_NE(out.find("ok 0"), std::string::npos) << out;
  EXPECT_NE(out.find("ok 1"), std::string::npos) << out;
}

TEST(DistEnv, ReadsTorchrunsVariablesAndRefusesBadOnes) {
  ::setenv("WORLD_SIZE", "4", 1);
  ::setenv("RANK", "3", 1);
  ::setenv("MASTER_PORT", "1234", 1);
  ::setenv("TORCHELASTIC_USE_AGENT_STORE", "True", 1);
  DistEnv e = DistEnv::from_environment();
  EXPECT_EQ(e.world_size, 4);
  EXPECT_EQ(e.rank, 3);
  EXPECT_EQ(e.master_port, 1234);
  EXPECT_TRUE(e.agent_store);
  ::setenv("RANK", "4", 1);
  EXPECT_THROW(DistEnv::from_environment(), ParamError);
  ::setenv("RANK", "x", 1);
  EXPECT_THROW(DistEnv::from_environment(), ParamError);
  for (const char* v : {"WORLD_SIZE", "RANK", "MASTER_PORT", "TORCHELASTIC_USE_AGENT_STORE"}) ::unsetenv(v);
  EXPECT_EQ(DistEnv::from_environment().world_size, 1);
}

}  // namespace
}  // namespace mfkit
