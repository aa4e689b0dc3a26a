#include "mfkit/models/bpr.h"

#include <Eigen/Dense>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include "kernels/dispatch.h"
#include "mfkit/error.h"
#include "mfkit/metrics.h"
#include "mfkit/model_file.h"
#include "models/bpr/bpr_model.h"
#include "models/epochs.h"
#include "models/factors.h"

namespace mfkit {

// The public step (bpr_step.h) runs the chosen instruction set's copy (kernels/dispatch.h).
double bpr_epoch(const Csr& by_user, const std::vector<int32_t>& entry_user, BprState& s, const BprConfig& c,
                 int threads, uint64_t seed) {
  return kernels().bpr_epoch(by_user, entry_user, s, c, threads, seed);
}

using RowMat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

void BprParams::visit(ParamVisitor& v) {
  v.param("factors", factors, "latent dimension", 1, 4096);
  v.param("epochs", epochs, "passes of nnz sampled triples (an upper bound with patience)", 1, 100000);
  v.param("loss", loss, "bpr: ln sigmoid of the pair's score gap; warp: rank-weighted hinge on a violating negative",
          {"bpr", "warp"});
  v.param("learning_rate", learning_rate, "SGD step size", 1e-6, 10);
  v.param("adaptive", adaptive, "per-vector AdaGrad step sizes (LIBMF's); false = plain SGD");
  v.param("lr_decay", lr_decay, "step size multiplied by this after every epoch", 0.01, 1);
  v.param("reg", reg, "L2 on the user and item vectors a step touches, per step", 0, 100);
  v.param("reg_bias", reg_bias, "L2 on the item biases, per step", 0, 100);
  v.param("item_biases", item_biases, "learn an item bias beside the vectors");
  v.param("sampling", sampling, "negatives drawn uniformly over items, or as often as items occur (popularity)",
          {"uniform", "popularity"});
  v.param("verify_negatives", verify_negatives, "redraw a negative the user has seen (up to 10 times)");
  v.param("max_sampled", max_sampled, "warp: negatives drawn per positive before it is skipped", 1, 100000);
  v.param("init_std", init_std, "std of the (uniform) initial factors, divided by sqrt(factors)", 0, 10);
  v.param("patience", patience, "stop after this many epochs without validation AUC gain and keep the best (0 = off)",
          0, 100000);
  v.param("fold_in_epochs", fold_in_epochs, "passes over a new user's items when folding in", 1, 10000);
}

BprConfig Bpr::config() const {
  BprConfig c;
  c.f = f_;
  c.warp = p_.loss == "warp";
  c.lr = static_cast<float>(p_.learning_rate);
  c.reg = static_cast<float>(p_.reg);
  c.reg_bias = static_cast<float>(p_.reg_bias);
  c.biases = p_.item_biases;
  c.popularity = p_.sampling == "popularity";
  c.verify = p_.verify_negatives;
  c.max_sampled = p_.max_sampled;
  c.adaptive = p_.adaptive;
  return c;
}

// Mean AUC over (at most 2000) validation users: each held-out item against every item the user
// has neither trained on nor held out.
static double validation_auc(const BprState& s, int f, const Csr& train, const Csr& valid, int threads) {
  const int32_t ni = static_cast<int32_t>(s.b.size());
  std::vector<int32_t> users;
  for (int32_t u = 0; u < valid.rows(); ++u)
    if (valid.row_size(u) > 0) users.push_back(u);
  if (users.size() > 2000) {
    std::mt19937_64 rng(7);
    std::shuffle(users.begin(), users.end(), rng);
    users.resize(2000);
  }
  double total = 0;
#pragma omp parallel for schedule(dynamic, 32) num_threads(threads) reduction(+ : total)
  for (size_t k = 0; k < users.size(); ++k) {
    const int32_t u = users[k];
    Eigen::Map<const RowMat> Y(s.Y.data(), ni, f);
    Eigen::Map<const Eigen::VectorXf> x(s.X.data() + static_cast<size_t>(u) * f, f);
    Eigen::VectorXf sc = Y * x + Eigen::Map<const Eigen::VectorXf>(s.b.data(), ni);
    std::vector<char> skip(ni, 0);
    for (int64_t e = train.indptr[u]; e < train.indptr[u + 1]; ++e) skip[train.indices[e]] = 1;
    for (int64_t e = valid.indptr[u]; e < valid.indptr[u + 1]; ++e) skip[valid.indices[e]] = 2;
    std::vector<float> pos, neg;
    for (int32_t i = 0; i < ni; ++i)
      if (!skip[i]) neg.push_back(sc[i]);
    if (neg.empty()) continue;
    for (int64_t e = valid.indptr[u]; e < valid.indptr[u + 1]; ++e) pos.push_back(sc[valid.indices[e]]);
    total += auc(pos, neg);
  }
  return users.empty() ? 0.5 : total / users.size();
}

void Bpr::do_fit(const Interactions& train, const FitOptions& opt) {
  const auto& p = p_;
  f_ = p.factors;
  const int32_t nu = train.n_users(), ni = train.n_items();
  const Csr& cu = train.by_user();
  const double init = p.init_std / std::sqrt(static_cast<double>(f_));
  s_.X.resize(static_cast<size_t>(nu) * f_);
  s_.Y.resize(static_cast<size_t>(ni) * f_);
  uniform_rows(nu, f_, init, opt.ctx.seed * 2 + 1, s_.X.data(), opt.ctx.threads);
  uniform_rows(ni, f_, init, opt.ctx.seed * 2 + 2, s_.Y.data(), opt.ctx.threads);
  s_.b.assign(ni, 0.0f);
  if (p.adaptive) {
    s_.ax.assign(nu, 1.0f);
    s_.ay.assign(ni, 1.0f);
    s_.ab.assign(ni, 1.0f);
  }
  std::vector<int32_t> entry_user(cu.indices.size());
  for (int32_t u = 0; u < nu; ++u)
    std::fill(entry_user.begin() + cu.indptr[u], entry_user.begin() + cu.indptr[u + 1], u);
  BprConfig c = config();
  BprState best;
  EpochHooks h;
  h.step = [&](int ep) {
    double loss = bpr_epoch(cu, entry_user, s_, c, opt.ctx.threads, opt.ctx.seed * 1000003ULL + ep);
    c.lr *= static_cast<float>(p.lr_decay);
    return loss;
  };
  h.finite = [&] {
    auto fin = [](float v) { return std::isfinite(v); };
    return std::all_of(s_.X.begin(), s_.X.end(), fin) && std::all_of(s_.Y.begin(), s_.Y.end(), fin);
  };
  if (opt.validation && opt.validation->nnz() > 0)
    h.valid_auc = [&]() -> std::optional<double> {
      return validation_auc(s_, f_, cu, opt.validation->by_user(), opt.ctx.threads);
    };
  h.keep_best = [&] { best = s_; };
  h.restore_best = [&] { s_ = std::move(best); };
  run_epochs(type(), p.epochs, p.patience, opt, h);
  s_.ax = s_.ay = s_.ab = {};  // training state only
}

void Bpr::predict(const int32_t* users, const int32_t* items, size_t n, float* out) const {
  for (size_t e = 0; e < n; ++e) {
    const int32_t u = users[e], i = items[e];
    if (i < 0 || i >= n_items()) {
      out[e] = 0.0f;
      continue;
    }
    float v = s_.b[i];
    if (u >= 0 && u < n_users())
      v += Eigen::Map<const Eigen::VectorXf>(s_.X.data() + static_cast<size_t>(u) * f_, f_)
               .dot(Eigen::Map<const Eigen::VectorXf>(s_.Y.data() + static_cast<size_t>(i) * f_, f_));
    out[e] = v;
  }
}

void Bpr::score(const int32_t* users, size_t n, float* out) const {
  dot_scores(s_.X.data(), s_.Y.data(), n_items(), f_, users, n, out);
  Eigen::Map<RowMat>(out, static_cast<Eigen::Index>(n), n_items()).rowwise() +=
      Eigen::Map<const Eigen::RowVectorXf>(s_.b.data(), n_items());
}

// The user's vector by the training steps with the items held fixed, from zero, with a stream
// seeded by the items (the same interactions always give the same vector).
std::vector<float> Bpr::fold_in_user(const std::vector<int32_t>& items, const std::vector<float>& values) const {
  if (items.size() != values.size()) throw Error("bpr: items and values differ in length");
  std::vector<int32_t> row(items);
  for (int32_t i : row)
    if (i < 0 || i >= n_items()) throw NotFoundError("bpr: fold-in item index out of range");
  std::sort(row.begin(), row.end());
  row.erase(std::unique(row.begin(), row.end()), row.end());
  std::vector<float> x(f_, 0.0f);
  if (row.empty()) return x;
  uint64_t seed = 1469598103934665603ULL;
  for (int32_t i : row) seed = (seed ^ static_cast<uint64_t>(i)) * 1099511628211ULL;
  std::mt19937_64 rng(seed);
  BprConfig c = config();
  // Popularity sampling draws from the training entries, which the model keeps as seen().
  NegativeSampler neg(seen(), n_items(), c);
  float acc = 1.0f;
  const int64_t steps = static_cast<int64_t>(p_.fold_in_epochs) * static_cast<int64_t>(row.size());
  for (int64_t k = 0; k < steps; ++k) {
    const int32_t i = row[rng() % row.size()];
    update_user(x.data(), &acc, i,
                choose_pair(x.data(), i, row.data(), static_cast<int64_t>(row.size()), s_, neg, c, rng), s_, c);
  }
  return x;
}

void Bpr::score_new_user(const std::vector<int32_t>& items, const std::vector<float>& values, float* out) const {
  std::vector<float> x = fold_in_user(items, values);
  Eigen::Map<const RowMat> Y(s_.Y.data(), n_items(), f_);
  Eigen::Map<Eigen::VectorXf>(out, n_items()).noalias() =
      Y * Eigen::Map<const Eigen::VectorXf>(x.data(), f_) + Eigen::Map<const Eigen::VectorXf>(s_.b.data(), n_items());
}

void Bpr::save_tensors(TensorMap& out) const {
  out["user_factors"] = Tensor::borrow(s_.X, {n_users(), f_});
  out["item_factors"] = Tensor::borrow(s_.Y, {n_items(), f_});
  out["item_bias"] = Tensor::borrow(s_.b);
}

void Bpr::load_tensors(const TensorMap& in) {
  const Tensor& x = require_tensor(in, "user_factors", DType::kF32);
  if (x.shape.size() != 2 || x.shape[0] != n_users()) throw Error("model file: user_factors has the wrong shape");
  f_ = static_cast<int>(x.shape[1]);
  s_.X = x.as_f32();
  s_.Y = require_tensor(in, "item_factors", DType::kF32, static_cast<int64_t>(n_items()) * f_).as_f32();
  s_.b = require_tensor(in, "item_bias", DType::kF32, n_items()).as_f32();
  auto fin = [](float v) { return std::isfinite(v); };
  if (!std::all_of(s_.X.begin(), s_.X.end(), fin) || !std::all_of(s_.Y.begin(), s_.Y.end(), fin) ||
      !std::all_of(s_.b.begin(), s_.b.end(), fin))
    throw Error("model file: factors contain NaN or infinity");
}

}  // namespace mfkit
