// The distributed `mfkit train`: read shards, partition, fit, score the held-out cells, write.
#include "dist/train.h"

#include <fmt/format.h>

#include <cmath>

#include "dist/fit.h"
#include "dist/partition.h"
#include "mfkit/error.h"
#include "mfkit/model_file.h"
#include "mfkit/registry.h"
#include "mfkit/split.h"
#include "mfkit/version.h"

namespace mfkit::dist {

namespace {

using Clock = std::chrono::steady_clock;

double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// Refuses, on every rank alike, what the distributed path does not do.
void check_supported(const TrainJob& job) {
  if (job.model != "als" && job.model != "implicit-als" && job.model != "biased-mf")
    throw ParamError("distributed training supports -m als, implicit-als and biased-mf (not '" + job.model + "')");
  if (!job.format) throw ParamError("distributed training reads a file or a folder of files: give --data PATH with --format");
  const bool hash = job.split.rfind("hash:", 0) == 0 || job.split == "hash";
  if (job.split != "none" && !hash)
    throw ParamError("distributed training: give --split none (fit on all data) or --split hash:F (cells held out by "
                     "their ids, the same in any layout), not '" + job.split + "'");
  if (hash && job.model == "implicit-als")
    throw ParamError("distributed training: held-out scoring covers rating models (als, biased-mf); for implicit-als "
                     "give --split none");
  if (job.valid > 0 || job.index) throw ParamError("distributed training: --valid and --set index are not supported");
}

}  // namespace

void iterate(FitContext& fc, int n, const State& state, const Sweep& sweep) {
  Communicator& comm = fc.comm;
  const int first = fc.checkpoint ? fc.checkpoint->restore(state) + 1 : 1;
  if (first > 1) fc.report["resumed_after"] = first - 1;
  nlohmann::json its = nlohmann::json::array();
  for (int it = first; it <= n; ++it) {
    const uint64_t bytes0 = comm.bytes_sent();
    auto t = Clock::now();
    const double loss = sweep(it);
    const double seconds = since(t);
    const auto bytes = comm.allgather(static_cast<int64_t>(comm.bytes_sent() - bytes0), "iteration report");
    its.push_back({{"iteration", it}, {"seconds", seconds}, {"loss", loss}, {"bytes_sent_per_rank", bytes}});
    if (!std::isfinite(loss)) throw DivergedError(fmt::format("{}: diverged at iteration {} (loss not finite)", fc.job.model, it));
    if (fc.checkpoint) fc.checkpoint->after(it, state);
    if (comm.rank() == 0 && fc.job.on_epoch) {
      EpochInfo e;
      e.epoch = it;
      e.epochs = n;
      e.seconds = seconds;
      e.train_loss = loss;
      fc.job.on_epoch(e);
    }
  }
  fc.report["iterations"] = its;
}

nlohmann::json train(const TrainJob& job, const DistEnv& env, const Options& opt) {
  std::unique_ptr<Model> model = create_model(job.model, job.preset, job.params);
  check_supported(job);
  auto comm = connect(env, opt.timeout);
  // Refuse ranks started differently: version, model, parameters, seed, data, split and layout.
  nlohmann::json same = {{"version", std::string(version()) + " " + source_revision()},
                         {"model", job.model},
                         {"params", model->params()},
                         {"seed", job.ctx.seed},
                         {"data", job.data},
                         {"split", job.split},
                         {"duplicates", static_cast<int>(job.load.duplicates)},
                         {"out", job.out},
                         {"checkpoint", opt.checkpoint.dir}};
  comm->check_same("settings", same.dump());
  const int P = comm->size(), me = comm->rank();

  auto t_load = Clock::now();
  LoadOptions lo = job.load;
  if (lo.threads == 0) lo.threads = job.ctx.threads;
  Split split = make_split(read_shard(*comm, job.data, *job.format, lo).data, job.split, job.ctx.seed);
  Partition part = partition(*comm, split.train, job.load.duplicates);
  split.train = Interactions();
  const double load_seconds = since(t_load);

  nlohmann::json report = {{"model", job.model},  {"dataset", job.data}, {"split", job.split}, {"ranks", P},
                           {"threads_per_rank", job.ctx.threads}, {"n_users", part.users.total()},
                           {"n_items", part.items.total()}, {"nnz", part.nnz}, {"load_seconds", load_seconds}};
  std::unique_ptr<Checkpoint> checkpoint;
  if (!opt.checkpoint.dir.empty()) {
    // What a resumed run must share with the one that saved: all of the above but the length.
    nlohmann::json keep = same;
    keep.erase("out");
    keep["params"].erase(job.model == "biased-mf" ? "epochs" : "iterations");
    keep["ranks"] = P;
    checkpoint = std::make_unique<Checkpoint>(*comm, opt.checkpoint, keep);
  }
  FitContext fc{*comm, part, job, report, checkpoint.get()};
  auto t_fit = Clock::now();
  LocalModel m = job.model == "implicit-als" ? fit_implicit_als(fc) : job.model == "als" ? fit_als(fc) : fit_biased_mf(fc);
  report["train_seconds"] = since(t_fit);
  report["epochs"] = report["iterations"].size();
  report["test"] = nullptr;
  if (job.split != "none") {
    auto t_eval = Clock::now();
    report["test"] = evaluate_rating(*comm, part, m, split.test);
    report["eval_seconds"] = since(t_eval);
  }

  // One model file on rank 0.
  TensorMap tensors;
  const int64_t k = m.k;
  std::vector<float> P_all = gather_rows(*comm, m.P, "gather user factors");
  std::vector<float> Q_all = gather_rows(*comm, m.Q, "gather item factors");
  std::vector<float> bu_all = gather_rows(*comm, m.bu, "gather user biases");
  std::vector<float> bi_all = gather_rows(*comm, m.bi, "gather item biases");
  std::vector<std::string> users = gather_names(*comm, part.users.names, "gather user ids");
  std::vector<std::string> items = gather_names(*comm, part.items.names, "gather item ids");
  Csr seen = gather_block(*comm, part.by_user, "gather the seen matrix");
  std::string error;
  if (me == 0 && !job.out.empty()) {
    try {
      tensors["user_factors"] = Tensor::f32(P_all, {part.users.total(), k});
      tensors["item_factors"] = Tensor::f32(Q_all, {part.items.total(), k});
      if (job.model == "implicit-als") {
        tensors["train_values"] = Tensor::f32(seen.values);
      } else {
        tensors["mu"] = Tensor::f32({m.mu, m.lo, m.hi});
        tensors["user_bias"] = Tensor::f32(bu_all);
        tensors["item_bias"] = Tensor::f32(bi_all);
      }
      model->restore_base(IdMap::from_names(std::move(users)), IdMap::from_names(std::move(items)), std::move(seen));
      model->load_tensors(tensors);
      save_model(*model, job.out,
                 {{"distributed", {{"ranks", P}}}, {"dataset", job.data}, {"split", job.split}, {"test", report["test"]}});
    } catch (const Error& e) {
      error = e.what();
    }
  }
  comm->broadcast(error, 0, "write the model");  // every rank fails when rank 0 could not write
  if (!error.empty()) throw Error(error);
  report["bytes_sent_total_per_rank"] = comm->allgather(static_cast<int64_t>(comm->bytes_sent()), "report");
  return report;
}

}  // namespace mfkit::dist
