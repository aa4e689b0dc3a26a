// Distributed als and implicit-als: each rank solves its own rows with the one-process kernels;
// per half-sweep the Gram matrix is summed over ranks and the other side's rows that a block
// references are fetched from their owners (partition.h).
#include <Eigen/Dense>

#include <algorithm>
#include <cmath>

#include "dist/fit.h"
#include "kernels/als_explicit.h"
#include "kernels/als_implicit.h"
#include "mfkit/models/als.h"
#include "mfkit/models/implicit_als.h"
#include "models/epochs.h"
#include "models/factors.h"
#include "models/implicit_als_model.h"

namespace mfkit::dist {

namespace {

using RowMat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

std::vector<float> keyed_rows(const OwnedIds& ids, int k, double std, uint64_t seed) {
  std::vector<float> out(ids.names.size() * k);
  keyed_normal_rows(ids.names, k, std, seed, out.data());
  return out;
}

// Y^T Y over every rank's rows, plus reg I.
std::vector<float> global_gram(Communicator& comm, const std::vector<float>& local, int f, float reg,
                               const char* step) {
  std::vector<float> G(static_cast<size_t>(f) * f);
  gram(local.data(), static_cast<int32_t>(local.size() / f), f, 0.0f, G.data());
  comm.allreduce_sum(G, step);
  for (int d = 0; d < f; ++d) G[static_cast<size_t>(d) * f + d] += reg;
  return G;
}

bool all_finite(Communicator& comm, const std::vector<float>& a, const std::vector<float>& b) {
  auto bad = [](const std::vector<float>& v) {
    return !std::all_of(v.begin(), v.end(), [](float x) { return std::isfinite(x); });
  };
  std::vector<double> flag{bad(a) || bad(b) ? 1.0 : 0.0};
  comm.allreduce_sum(flag, "check factors");
  return flag[0] == 0;
}

}  // namespace

LocalModel fit_implicit_als(FitContext& fc) {
  const auto p = params_of<ImplicitAlsParams>(fc);
  Communicator& comm = fc.comm;
  const Partition& part = fc.part;
  const int f = p.factors;
  const float reg = static_cast<float>(p.reg);
  const int steps = p.solver == "cg" ? p.cg_steps : 0;
  const int threads = fc.job.ctx.threads;
  // Confidences beside the blocks' own structure (no copy of their indices).
  const Csr &bu = part.by_user.rows, &bi = part.by_item.rows;
  const std::vector<float> cu = implicit_confidence_values(p, bu.values, threads),
                           ci = implicit_confidence_values(p, bi.values, threads);
  LocalModel m;
  m.k = f;
  m.P = keyed_rows(part.users, f, p.init_std, fc.job.ctx.seed);
  m.Q = keyed_rows(part.items, f, p.init_std, fc.job.ctx.seed);
  std::vector<float>&X = m.P, &Y = m.Q;
  const double cells = static_cast<double>(part.users.total()) * static_cast<double>(part.items.total());
  iterate(fc, p.iterations, {{"user_factors", X.data(), X.size()}, {"item_factors", Y.data(), Y.size()}}, [&](int) {
    std::vector<float> G = global_gram(comm, Y, f, reg, "item gram");
    std::vector<float> Yc = fetch_rows(comm, part.by_user.fetch, Y, f, "item factors");
    implicit_half_sweep(bu, cu.data(), Yc.data(), G.data(), f, steps, X.data(), threads);
    G = global_gram(comm, X, f, reg, "user gram");
    std::vector<float> Xc = fetch_rows(comm, part.by_item.fetch, X, f, "user factors");
    implicit_half_sweep(bi, ci.data(), Xc.data(), G.data(), f, steps, Y.data(), threads);
    if (!all_finite(comm, X, Y)) return double(NAN);
    if (!p.compute_loss) return kNoTrainLoss;
    // The objective over all cells, summed by items: y^T (X^T X) y + sum_u [(c-1) s^2 - 2 c s + c].
    Eigen::Map<const RowMat> Gm(G.data(), f, f);
    const Eigen::MatrixXf Gx = Gm - reg * Eigen::MatrixXf::Identity(f, f);
    std::vector<double> s(2, 0.0);  // loss, sum of (c - 1)
    for (int32_t i = 0; i < bi.rows(); ++i) {
      Eigen::Map<const Eigen::VectorXf> y(Y.data() + static_cast<size_t>(i) * f, f);
      double l = y.dot(Gx * y) + reg * y.squaredNorm();
      for (int64_t e = bi.indptr[i]; e < bi.indptr[i + 1]; ++e) {
        const double c = ci[e];
        const double sc =
            y.dot(Eigen::Map<const Eigen::VectorXf>(Xc.data() + static_cast<size_t>(bi.indices[e]) * f, f));
        l += (c - 1.0) * sc * sc - 2.0 * c * sc + c;
        s[1] += c - 1.0;
      }
      s[0] += l;
    }
    s[0] += reg * Eigen::Map<const Eigen::VectorXf>(X.data(), X.size()).squaredNorm();
    comm.allreduce_sum(s, "loss");
    return s[0] / (cells + s[1]);
  });
  return m;
}

LocalModel fit_als(FitContext& fc) {
  const auto p = params_of<AlsParams>(fc);
  Communicator& comm = fc.comm;
  const Partition& part = fc.part;
  const int k = p.factors;
  const int threads = fc.job.ctx.threads;
  AlsSolveConfig c;
  c.k = k;
  c.mu = static_cast<float>(part.value_sum / static_cast<double>(part.nnz));
  c.reg = static_cast<float>(p.reg);
  c.reg_bias = static_cast<float>(p.reg_bias);
  c.weighted = p.weighted_reg;
  c.biases = p.biases;
  LocalModel m;
  m.k = k;
  m.mu = c.mu, m.lo = part.lo, m.hi = part.hi, m.clip = p.clip;
  m.P.assign(part.users.names.size() * k, 0.0f);
  m.bu.assign(part.users.names.size(), 0.0f);
  m.Q = keyed_rows(part.items, k, p.init_std, fc.job.ctx.seed);
  m.bi.assign(part.items.names.size(), 0.0f);
  std::vector<float>&P = m.P, &bu = m.bu, &Q = m.Q, &bi = m.bi;
  const State state{{"user_factors", P.data(), P.size()},
                    {"user_bias", bu.data(), bu.size()},
                    {"item_factors", Q.data(), Q.size()},
                    {"item_bias", bi.data(), bi.size()}};
  iterate(fc, p.iterations, state, [&](int) {
    std::vector<float> Qc, bic, Pc, buc;
    fetch_rows_and_biases(comm, part.by_user.fetch, Q, bi, k, &Qc, &bic, "item factors");
    als_half_sweep(part.by_user.rows, Qc.data(), bic.data(), c, P.data(), bu.data(), threads);
    fetch_rows_and_biases(comm, part.by_item.fetch, P, bu, k, &Pc, &buc, "user factors");
    als_half_sweep(part.by_item.rows, Pc.data(), buc.data(), c, Q.data(), bi.data(), threads);
    // Training RMSE from the item blocks: both sides are current there.
    const Csr& r = part.by_item.rows;
    std::vector<double> s(1, 0.0);
    for (int32_t i = 0; i < r.rows(); ++i)
      for (int64_t e = r.indptr[i]; e < r.indptr[i + 1]; ++e) {
        const int32_t u = r.indices[e];
        double d = c.mu + bi[i] + buc[u];
        for (int j = 0; j < k; ++j) d += double(Q[static_cast<size_t>(i) * k + j]) * Pc[static_cast<size_t>(u) * k + j];
        s[0] += (r.values[e] - d) * (r.values[e] - d);
      }
    comm.allreduce_sum(s, "loss");
    return std::sqrt(s[0] / static_cast<double>(part.nnz));
  });
  return m;
}

}  // namespace mfkit::dist
