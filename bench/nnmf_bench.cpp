// NNMF speed: the machine's own torch::mm throughput at the network's layer shapes, one training
// epoch of `nnmf` at the paper's sizes on ML-1M (or a synthetic matrix of its size), and the
// epoch's achieved fraction of that GEMM throughput on `threads` cores. Writes JSON.
//
//   build/bench/mfkit_bench_nnmf --threads 2 --batch 8192 --out bench/results/nnmf_speed.json
#include <dlfcn.h>
#include <fmt/format.h>
#include <torch/torch.h>
#include <CLI/CLI.hpp>

#include <chrono>
#include <fstream>

#include "mfkit/data.h"
#include "mfkit/error.h"
#include "mfkit/models/nnmf.h"
#include "mfkit/registry.h"
#include "mfkit/split.h"

using Clock = std::chrono::steady_clock;

// GFLOP/s of y = x W^T at [b x in] x [in x out], the shape of one layer's forward GEMM.
static double mm_gflops(int64_t b, int64_t in, int64_t out) {
  torch::Tensor x = torch::randn({b, in}), w = torch::randn({out, in});
  for (int k = 0; k < 3; ++k) torch::mm(x, w.t());
  int reps = 0;
  auto t0 = Clock::now();
  double s = 0;
  while ((s = std::chrono::duration<double>(Clock::now() - t0).count()) < 0.5) {
    torch::mm(x, w.t());
    ++reps;
  }
  return 2.0 * b * in * out * reps / s / 1e9;
}

int main(int argc, char** argv) {
  CLI::App app{"nnmf speed benchmark"};
  int threads = 2, batch = 8192, epochs = 3;
  std::string out = "bench/results/nnmf_speed.json";
  app.add_option("--threads", threads)->capture_default_str();
  app.add_option("--batch", batch, "ratings per step")->capture_default_str();
  app.add_option("--epochs", epochs, "epochs timed")->capture_default_str();
  app.add_option("--out", out)->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  std::string command;
  for (int i = 0; i < argc; ++i) command += (i ? " " : "") + std::string(argv[i]);
  // As nnmf's fit does: libtorch threads, single-threaded BLAS underneath.
  mfkit::create_model("nnmf");
  at::set_num_threads(threads);
  using SetThreads = void (*)(int);
  if (auto set = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) set(1);

  // Paper sizes: input 2D + D' = 80, three hidden layers of 50, linear output. GEMM throughput
  // is measured on one core (the training step runs one single-threaded GEMM per thread).
  const int64_t in = 80, h = 50;
  const double fwd_mac = in * h + h * h + h * h + h;  // multiply-adds per rating, forward
  at::set_num_threads(1);
  const int64_t rows = batch == 0 ? mfkit::kNnmfPassRows : batch;  // a full batch runs in passes
  double g1 = mm_gflops(rows, in, h), g2 = mm_gflops(rows, h, h);
  at::set_num_threads(threads);
  double gemm = (in * h * g1 + 2 * h * h * g2) / (in * h + 2 * h * h);  // FLOP-weighted mean

  mfkit::Interactions data;
  std::string source = "ml-1m";
  try {
    data = mfkit::random_split(mfkit::load_data("ml-1m", std::nullopt).data, 0.9, 1).train;
  } catch (const mfkit::Error&) {
    mfkit::SyntheticSpec s;
    s.users = 6040;
    s.items = 3706;
    s.density = 0.0402;
    data = mfkit::synthetic_ratings(s);
    source = "synthetic (ml-1m size)";
  }
  auto model = mfkit::create_model("nnmf", "paper", {});
  model->set_params({{"d", 10},
                     {"d_prime", 60},
                     {"layers", 3},
                     {"hidden", 50},
                     {"batch_size", batch},
                     {"epochs", epochs + 1},
                     {"patience", 0},
                     {"valid_fraction", 0.0}});
  std::vector<double> secs;
  model->fit(data, {mfkit::Context{threads, 1}, nullptr, [&](const mfkit::EpochInfo& e) {
                      if (e.epoch > 1) secs.push_back(e.seconds);  // the first epoch warms up
                      return true;
                    }});
  double epoch = 0;
  for (double s : secs) epoch += s / secs.size();
  // Half the ratings go through a network step: forward, weight gradients and the backward pass
  // through the activations down to the first hidden layer (3x forward less the first layer's
  // input gradient); half through a latent step: forward and the backward pass to the inputs
  // (2x forward, no weight gradients). A full-batch epoch runs every rating through both.
  const double flop = data.nnz() * 2.0 * ((3 * fwd_mac - in * h) + 2 * fwd_mac) / (batch == 0 ? 1 : 2);
  nlohmann::json r = {{"command", command},
                      {"data", source},
                      {"ratings", data.nnz()},
                      {"threads", threads},
                      {"batch", batch},
                      {"epoch_seconds", epoch},
                      {"gflop_per_epoch", flop / 1e9},
                      {"achieved_gflops", flop / epoch / 1e9},
                      {"torch_mm_gflops_one_core", {{"b x 80 x 50", g1}, {"b x 50 x 50", g2}, {"weighted", gemm}}},
                      {"fraction_of_gemm", flop / epoch / 1e9 / (gemm * threads)},
                      {"fraction_of_one_core_gemm", flop / epoch / 1e9 / gemm}};
  std::ofstream(out) << r.dump(2) << "\n";
  fmt::print("{}\n", r.dump(2));
  return 0;
}
