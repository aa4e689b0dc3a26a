// libtorch is loaded only by what needs it: commands without a neural model start fast.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>

#include "test_util.h"

namespace mfkit {
namespace {

// Whether the dynamic loader opened mfkit's libtorch part (LD_DEBUG=files names every file it
// opens) while running `args`.
bool loads_torch(const std::string& args) {
  test::CliRun r = test::run_cli(args, "LD_DEBUG=files");
  EXPECT_EQ(r.code, 0) << args << "\n" << r.out.substr(0, 2000);
  EXPECT_NE(r.out.find("file="), std::string::npos) << "LD_DEBUG printed nothing: the check would prove nothing";
  return r.out.find("libmfkit_torch.so") != std::string::npos || r.out.find("libtorch_cpu") != std::string::npos;
}

TEST(Startup, OnlyNeuralModelsLoadLibtorch) {
  test::TempDir d;
  const std::string mf = d.path("mf.mfk"), nn = d.path("nn.mfk");
  ASSERT_EQ(test::run_cli("train -m biased-mf --data synthetic --split none --set epochs=2 -q -o " + mf).code, 0);
  ASSERT_EQ(test::run_cli("train -m nnmf --data synthetic --split none --set epochs=1 -q -o " + nn).code, 0);
  EXPECT_FALSE(loads_torch("--help"));
  EXPECT_FALSE(loads_torch("models"));  // describes nnmf's and shallow-net's parameters too
  EXPECT_FALSE(loads_torch("predict -f " + mf + " -u u1 -i i1"));
  EXPECT_FALSE(loads_torch("recommend -f " + mf + " -u u1 -k 5"));
  EXPECT_FALSE(loads_torch("train -m biased-mf --data synthetic --set epochs=1 -q"));
  EXPECT_TRUE(loads_torch("predict -f " + nn + " -u u1 -i i1"));
  EXPECT_TRUE(loads_torch("train -m shallow-net --data synthetic --binarize --set epochs=1 -q"));
}

TEST(Startup, HelpStartsInMilliseconds) {
  // bench/startup.py measures it (about 10 ms here); this bound is loose, for a busy machine:
  // loading libtorch alone takes about 600 ms.
  double best = 1e9;
  for (int k = 0; k < 5; ++k) {
    auto t0 = std::chrono::steady_clock::now();
    ASSERT_EQ(test::run_cli("--help").code, 0);
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  EXPECT_LT(best, 0.25) << "mfkit --help took " << best << " s at best of 5";
}

}  // namespace
}  // namespace mfkit
