// Distributed als and implicit-als: each rank solves its own rows with the one-process kernels;
// per half-sweep the Gram matrix is summed over ranks and the other side's rows that a block
// references are fetched from their owners (partition.h).
#include <fmt/format.h>

#include <Eigen/Dense>

#include <algorithm>
#include <chrono>
#include <cmath>

#include "dist/partition.h"
#include "dist/train.h"
#include "kernels/als_explicit.h"
#include "kernels/als_implicit.h"
#include "mfkit/error.h"
#include "mfkit/model_file.h"
#include "mfkit/models/als.h"
#include "mfkit/models/implicit_als.h"
#include "mfkit/registry.h"
#include "mfkit/version.h"
#include "models/factors.h"
#include "models/implicit_als_model.h"

namespace mfkit::dist {

namespace {

using Clock = std::chrono::steady_clock;
using RowMat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

std::vector<float> keyed_rows(const OwnedIds& ids, int k, double std, uint64_t seed) {
  std::vector<float> out(ids.names.size() * k);
  keyed_normal_rows(ids.names, k, std, seed, out.data());
  return out;
}

// Y^T Y over every rank's rows, plus reg I.
std::vector<float> global_gram(Communicator& comm, const std::vector<float>& local, int f, float reg, const char* step) {
  std::vector<float> G(static_cast<size_t>(f) * f);
  gram(local.data(), static_cast<int32_t>(local.size() / f), f, 0.0f, G.data());
  comm.allreduce_sum(G, step);
  for (int d = 0; d < f; ++d) G[static_cast<size_t>(d) * f + d] += reg;
  return G;
}

bool all_finite(Communicator& comm, const std::vector<float>& a, const std::vector<float>& b) {
  auto bad = [](const std::vector<float>& v) { return !std::all_of(v.begin(), v.end(), [](float x) { return std::isfinite(x); }); };
  std::vector<double> flag{bad(a) || bad(b) ? 1.0 : 0.0};
  comm.allreduce_sum(flag, "check factors");
  return flag[0] == 0;
}

using Sweep = std::function<double()>;  // one iteration; returns the training loss

// Runs the iterations, timing each and counting what this rank sent; reports on rank 0.
void iterate(Communicator& comm, const TrainJob& job, int iterations, const Sweep& sweep, nlohmann::json& report) {
  nlohmann::json its = nlohmann::json::array();
  for (int it = 1; it <= iterations; ++it) {
    const uint64_t bytes0 = comm.bytes_sent();
    auto t = Clock::now();
    const double loss = sweep();
    const double seconds = std::chrono::duration<double>(Clock::now() - t).count();
    const auto bytes = comm.allgather(static_cast<int64_t>(comm.bytes_sent() - bytes0), "iteration report");
    its.push_back({{"iteration", it}, {"seconds", seconds}, {"loss", loss}, {"bytes_sent_per_rank", bytes}});
    if (!std::isfinite(loss)) throw DivergedError(fmt::format("{}: diverged at iteration {} (loss not finite)", job.model, it));
    if (comm.rank() == 0 && job.on_epoch) {
      EpochInfo e;
      e.epoch = it;
      e.epochs = iterations;
      e.seconds = seconds;
      e.train_loss = loss;
      job.on_epoch(e);
    }
  }
  report["iterations"] = its;
}

void fit_implicit(Communicator& comm, const Partition& part, const ImplicitAlsParams& p, const TrainJob& job,
                  TensorMap& out, nlohmann::json& report) {
  const int f = p.factors;
  const float reg = static_cast<float>(p.reg);
  const int steps = p.solver == "cg" ? p.cg_steps : 0;
  const int threads = job.ctx.threads;
  Csr cu = implicit_confidences(p, part.by_user.rows), ci = implicit_confidences(p, part.by_item.rows);
  std::vector<float> X = keyed_rows(part.users, f, p.init_std, job.ctx.seed);
  std::vector<float> Y = keyed_rows(part.items, f, p.init_std, job.ctx.seed);
  const double cells = static_cast<double>(part.users.total()) * static_cast<double>(part.items.total());
  iterate(comm, job, p.iterations, [&] {
    std::vector<float> G = global_gram(comm, Y, f, reg, "item gram");
    std::vector<float> Yc = fetch_rows(comm, part.by_user.fetch, Y, f, "item factors");
    implicit_half_sweep(cu, Yc.data(), G.data(), f, steps, X.data(), threads);
    G = global_gram(comm, X, f, reg, "user gram");
    std::vector<float> Xc = fetch_rows(comm, part.by_item.fetch, X, f, "user factors");
    implicit_half_sweep(ci, Xc.data(), G.data(), f, steps, Y.data(), threads);
    if (!all_finite(comm, X, Y)) return double(NAN);
    if (!p.compute_loss) return 0.0;
    // The objective over all cells, summed by items: y^T (X^T X) y + sum_u [(c-1) s^2 - 2 c s + c].
    Eigen::Map<const RowMat> Gm(G.data(), f, f);
    const Eigen::MatrixXf Gx = Gm - reg * Eigen::MatrixXf::Identity(f, f);
    std::vector<double> s(2, 0.0);  // loss, sum of (c - 1)
    for (int32_t i = 0; i < ci.rows(); ++i) {
      Eigen::Map<const Eigen::VectorXf> y(Y.data() + static_cast<size_t>(i) * f, f);
      double l = y.dot(Gx * y) + reg * y.squaredNorm();
      for (int64_t e = ci.indptr[i]; e < ci.indptr[i + 1]; ++e) {
        const double c = ci.values[e];
        const double sc = y.dot(Eigen::Map<const Eigen::VectorXf>(Xc.data() + static_cast<size_t>(ci.indices[e]) * f, f));
        l += (c - 1.0) * sc * sc - 2.0 * c * sc + c;
        s[1] += c - 1.0;
      }
      s[0] += l;
    }
    s[0] += reg * Eigen::Map<const Eigen::VectorXf>(X.data(), X.size()).squaredNorm();
    comm.allreduce_sum(s, "loss");
    return s[0] / (cells + s[1]);
  }, report);
  std::vector<float> Xall = gather_rows(comm, X, "gather user factors");
  std::vector<float> Yall = gather_rows(comm, Y, "gather item factors");
  if (comm.rank() != 0) return;
  out["user_factors"] = Tensor::f32(Xall, {part.users.total(), f});
  out["item_factors"] = Tensor::f32(Yall, {part.items.total(), f});
}

void fit_explicit(Communicator& comm, const Partition& part, const AlsParams& p, const TrainJob& job, TensorMap& out,
                  nlohmann::json& report) {
  const int k = p.factors;
  const int threads = job.ctx.threads;
  AlsSolveConfig c;
  c.k = k;
  c.mu = static_cast<float>(part.value_sum / static_cast<double>(part.nnz));
  c.reg = static_cast<float>(p.reg);
  c.reg_bias = static_cast<float>(p.reg_bias);
  c.weighted = p.weighted_reg;
  c.biases = p.biases;
  std::vector<float> P(part.users.names.size() * k, 0.0f), bu(part.users.names.size(), 0.0f);
  std::vector<float> Q = keyed_rows(part.items, k, p.init_std, job.ctx.seed), bi(part.items.names.size(), 0.0f);
  iterate(comm, job, p.iterations, [&] {
    std::vector<float> Qc = fetch_rows(comm, part.by_user.fetch, Q, k, "item factors");
    std::vector<float> bic = fetch_rows(comm, part.by_user.fetch, bi, 1, "item biases");
    als_half_sweep(part.by_user.rows, Qc.data(), bic.data(), c, P.data(), bu.data(), threads);
    std::vector<float> Pc = fetch_rows(comm, part.by_item.fetch, P, k, "user factors");
    std::vector<float> buc = fetch_rows(comm, part.by_item.fetch, bu, 1, "user biases");
    als_half_sweep(part.by_item.rows, Pc.data(), buc.data(), c, Q.data(), bi.data(), threads);
    // Training RMSE from the item blocks: both sides are current there.
    const Csr& m = part.by_item.rows;
    std::vector<double> s(1, 0.0);
    for (int32_t i = 0; i < m.rows(); ++i)
      for (int64_t e = m.indptr[i]; e < m.indptr[i + 1]; ++e) {
        const int32_t u = m.indices[e];
        double d = c.mu + bi[i] + buc[u];
        for (int j = 0; j < k; ++j) d += double(Q[static_cast<size_t>(i) * k + j]) * Pc[static_cast<size_t>(u) * k + j];
        s[0] += (m.values[e] - d) * (m.values[e] - d);
      }
    comm.allreduce_sum(s, "loss");
    return std::sqrt(s[0] / static_cast<double>(part.nnz));
  }, report);
  std::vector<float> bu_all = gather_rows(comm, bu, "gather user biases");
  std::vector<float> bi_all = gather_rows(comm, bi, "gather item biases");
  std::vector<float> P_all = gather_rows(comm, P, "gather user factors");
  std::vector<float> Q_all = gather_rows(comm, Q, "gather item factors");
  if (comm.rank() != 0) return;
  out["mu"] = Tensor::f32({c.mu, part.lo, part.hi});
  out["user_bias"] = Tensor::f32(bu_all);
  out["item_bias"] = Tensor::f32(bi_all);
  out["user_factors"] = Tensor::f32(P_all, {part.users.total(), k});
  out["item_factors"] = Tensor::f32(Q_all, {part.items.total(), k});
}

double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

}  // namespace

nlohmann::json train(const TrainJob& job, const DistEnv& env, std::chrono::milliseconds timeout) {
  std::unique_ptr<Model> model = create_model(job.model, job.preset, job.params);
  if (job.model != "als" && job.model != "implicit-als")
    throw ParamError("distributed training supports -m als and -m implicit-als (not '" + job.model + "')");
  if (!job.format) throw ParamError("distributed training reads a file or a folder of files: give --data PATH with --format");
  if (job.split != "none") throw ParamError("distributed training fits on all the data: give --split none");
  if (job.valid > 0 || job.index) throw ParamError("distributed training: --valid and --set index are not supported");
  auto comm = connect(env, timeout);
  // Refuse ranks started differently: version, model, parameters, seed, data and layout.
  nlohmann::json same = {{"version", std::string(version()) + " " + source_revision()},
                         {"model", job.model},
                         {"params", model->params()},
                         {"seed", job.ctx.seed},
                         {"data", job.data},
                         {"duplicates", static_cast<int>(job.load.duplicates)},
                         {"out", job.out}};
  comm->check_same("settings", same.dump());
  const int P = comm->size(), me = comm->rank();

  auto t_load = Clock::now();
  LoadOptions opt = job.load;
  if (opt.threads == 0) opt.threads = job.ctx.threads;
  LoadResult shard = read_shard(*comm, job.data, *job.format, opt);
  Partition part = partition(*comm, shard.data, job.load.duplicates);
  shard = LoadResult();
  const double load_seconds = since(t_load);

  nlohmann::json report = {{"model", job.model},  {"dataset", job.data}, {"ranks", P},
                           {"threads_per_rank", job.ctx.threads}, {"n_users", part.users.total()},
                           {"n_items", part.items.total()}, {"nnz", part.nnz}, {"load_seconds", load_seconds}};
  auto t_fit = Clock::now();
  TensorMap tensors;
  nlohmann::json params = model->params();
  if (job.model == "implicit-als") {
    ImplicitAlsParams p;
    params_from_json(p, params, "implicit-als");
    fit_implicit(*comm, part, p, job, tensors, report);
  } else {
    AlsParams p;
    params_from_json(p, params, "als");
    fit_explicit(*comm, part, p, job, tensors, report);
  }
  report["train_seconds"] = since(t_fit);
  report["epochs"] = report["iterations"].size();

  std::vector<std::string> users = gather_names(*comm, part.users.names, "gather user ids");
  std::vector<std::string> items = gather_names(*comm, part.items.names, "gather item ids");
  Csr seen = gather_block(*comm, part.by_user, "gather the seen matrix");
  std::string error;
  if (me == 0 && !job.out.empty()) {
    try {
      if (job.model == "implicit-als") tensors["train_values"] = Tensor::f32(seen.values);
      model->restore_base(IdMap::from_names(std::move(users)), IdMap::from_names(std::move(items)), std::move(seen));
      model->load_tensors(tensors);
      save_model(*model, job.out, {{"distributed", {{"ranks", P}}}});
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
