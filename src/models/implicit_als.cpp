#include "mfkit/models/implicit_als.h"

#include <Eigen/Cholesky>
#include <Eigen/Dense>

#include <algorithm>
#include <cmath>
#include <random>

#include "core/huge_pages.h"
#include "kernels/als_implicit.h"
#include "mfkit/error.h"
#include "mfkit/model_file.h"
#include "models/epochs.h"
#include "models/factors.h"
#include "models/implicit_als_model.h"

namespace mfkit {

using RowMat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

void ImplicitAlsParams::visit(ParamVisitor& v) {
  v.param("factors", factors, "latent dimension: CG costs O(nnz f + rows f^2), Cholesky O(nnz f^2 + rows f^3)", 1,
          1024);
  v.param("iterations", iterations, "full sweeps (users, then items)", 1, 10000);
  v.param("reg", reg, "L2 on user and item factors", 0, 1e6);
  v.param("alpha", alpha, "confidence slope: how much more an observed cell counts", 0, 1e6);
  v.param("epsilon", epsilon, "log scheme only: values are divided by epsilon inside the log", 1e-12, 1e12);
  v.param("confidence", confidence, "confidence of an observed value r", {"linear", "log", "implicit"});
  v.param("solver", solver, "cg: warm-started conjugate gradient; cholesky: exact solve", {"cg", "cholesky"});
  v.param("cg_steps", cg_steps, "CG steps per row and half-sweep", 1, 100);
  v.param("init_std", init_std, "std of the normal initial factors", 0, 10);
  v.param("compute_loss", compute_loss,
          "report the full objective each iteration (costs one extra pass over the data; off by default, as implicit's "
          "calculate_training_loss)");
}

void ImplicitAlsParams::validate() const {}

namespace {

enum class Scheme { kLinear, kLog, kImplicit };

Scheme scheme_of(const ImplicitAlsParams& p) {
  return p.confidence == "log" ? Scheme::kLog : p.confidence == "implicit" ? Scheme::kImplicit : Scheme::kLinear;
}

float confidence(Scheme s, const ImplicitAlsParams& p, float r) {
  if (s == Scheme::kLog) return 1.0f + static_cast<float>(p.alpha * std::log1p(r / p.epsilon));
  if (s == Scheme::kImplicit) return static_cast<float>(p.alpha * r);
  return 1.0f + static_cast<float>(p.alpha * r);
}

}  // namespace

float implicit_confidence(const ImplicitAlsParams& p, float r) { return confidence(scheme_of(p), p, r); }

std::vector<float> implicit_confidence_values(const ImplicitAlsParams& p, const std::vector<float>& values,
                                              int threads) {
  const Scheme s = scheme_of(p);
  const int64_t n = static_cast<int64_t>(values.size());
  std::vector<float> c;
  resize_huge(c, values.size());
  int64_t bad = n;
#pragma omp parallel for num_threads(threads) schedule(static) reduction(min : bad) if (n > 100000)
  for (int64_t e = 0; e < n; ++e) {
    c[e] = confidence(s, p, values[e]);
    if (!(c[e] > 0) || !std::isfinite(c[e])) bad = std::min(bad, e);
  }
  if (bad < n)
    throw ParamError("implicit-als: a confidence is not positive (values must be > 0; check alpha and the data)");
  return c;
}

Csr implicit_confidences(const ImplicitAlsParams& p, const Csr& m) {
  return Csr{m.indptr, m.indices, implicit_confidence_values(p, m.values, 1), {}};
}

void ImplicitAls::do_fit(const Interactions& train, const FitOptions& opt) {
  const auto& p = p_;
  const int f = p.factors;
  const int32_t nu = train.n_users(), ni = train.n_items();
  const int threads = opt.ctx.threads;
  // The confidences beside the training matrix's own structure (no copy of its indices).
  const Csr &bu = train.by_user(), &bi = train.by_item();
  const std::vector<float> cu = implicit_confidence_values(p, bu.values, threads),
                           ci = implicit_confidence_values(p, bi.values, threads);
  X_.clear();
  Y_.clear();
  resize_huge(X_, static_cast<size_t>(nu) * f);
  resize_huge(Y_, static_cast<size_t>(ni) * f);
  keyed_normal_rows(train.user_ids()->names(), f, p.init_std, opt.ctx.seed, X_.data());
  keyed_normal_rows(train.item_ids()->names(), f, p.init_std, opt.ctx.seed, Y_.data());
  f_ = f;
  std::vector<float> G(static_cast<size_t>(f) * f);
  const int steps = p.solver == "cg" ? p.cg_steps : 0;
  const float reg = static_cast<float>(p.reg);
  train_values_ = copy_huge(bu.values);
  run_epochs(type(), p.iterations, 0, nullptr, opt, [&](int) {
    gram(Y_.data(), ni, f, reg, G.data());
    implicit_half_sweep(bu, cu.data(), Y_.data(), G.data(), f, steps, X_.data(), threads);
    gram(X_.data(), nu, f, reg, G.data());
    implicit_half_sweep(bi, ci.data(), X_.data(), G.data(), f, steps, Y_.data(), threads);
    if (!std::all_of(X_.begin(), X_.end(), [](float v) { return std::isfinite(v); })) return double(NAN);
    return p.compute_loss ? implicit_loss(bu, cu.data(), X_.data(), nu, Y_.data(), ni, f, reg, threads) : kNoTrainLoss;
  });
}

void ImplicitAls::predict(const int32_t* users, const int32_t* items, size_t n, float* out) const {
  for (size_t e = 0; e < n; ++e) {
    const int32_t u = users[e], i = items[e];
    if (u < 0 || u >= n_users() || i < 0 || i >= n_items()) {
      out[e] = 0.0f;
      continue;
    }
    Eigen::Map<const Eigen::VectorXf> x(X_.data() + static_cast<size_t>(u) * f_, f_),
        y(Y_.data() + static_cast<size_t>(i) * f_, f_);
    out[e] = x.dot(y);
  }
}

void ImplicitAls::score(const int32_t* users, size_t n, float* out) const {
  dot_scores(X_.data(), Y_.data(), n_items(), f_, users, n, out);
}

// The exact user solve against fixed items: (G + sum (c-1) y y^T) x = sum c y.
std::vector<float> ImplicitAls::solve_user(const std::vector<int32_t>& items, const std::vector<float>& values) const {
  if (items.size() != values.size()) throw Error("implicit-als: items and values differ in length");
  Csr one;
  one.indptr = {0, static_cast<int64_t>(items.size())};
  std::vector<std::pair<int32_t, float>> sorted;
  for (size_t k = 0; k < items.size(); ++k) {
    if (items[k] < 0 || items[k] >= n_items()) throw NotFoundError("implicit-als: fold-in item index out of range");
    sorted.push_back({items[k], values[k]});
  }
  std::sort(sorted.begin(), sorted.end());
  for (auto& [i, v] : sorted) {
    one.indices.push_back(i);
    one.values.push_back(v);
  }
  one = confidences(one);
  std::vector<float> G(static_cast<size_t>(f_) * f_), x(f_, 0.0f);
  gram(Y_.data(), n_items(), f_, static_cast<float>(p_.reg), G.data());
  implicit_half_sweep(one, Y_.data(), G.data(), f_, 0, x.data(), 1);
  return x;
}

void ImplicitAls::score_new_user(const std::vector<int32_t>& items, const std::vector<float>& values,
                                 float* out) const {
  std::vector<float> x = solve_user(items, values);
  Eigen::Map<const RowMat> Y(Y_.data(), n_items(), f_);
  Eigen::Map<Eigen::VectorXf>(out, n_items()).noalias() = Y * Eigen::Map<const Eigen::VectorXf>(x.data(), f_);
}

std::vector<std::pair<int32_t, float>> ImplicitAls::explain(int32_t user, int32_t item, int k) const {
  if (user < 0 || user >= n_users() || item < 0 || item >= n_items())
    throw NotFoundError("implicit-als: explain: user or item index out of range");
  // score(u,i) = sum_j s_ij c_uj with s_ij = y_i^T W y_j, W = (Y^T C^u Y + reg I)^-1 (HKV section 5).
  const Csr& s = seen();
  std::vector<int32_t> items(s.indices.begin() + s.indptr[user], s.indices.begin() + s.indptr[user + 1]);
  if (items.empty()) return {};
  std::vector<float> raw(items.size(), 1.0f);
  if (!train_values_.empty())
    for (size_t j = 0; j < items.size(); ++j) raw[j] = train_values_[s.indptr[user] + j];
  Eigen::MatrixXf A(f_, f_);
  {
    std::vector<float> G(static_cast<size_t>(f_) * f_);
    gram(Y_.data(), n_items(), f_, static_cast<float>(p_.reg), G.data());
    A = Eigen::Map<const RowMat>(G.data(), f_, f_);
  }
  std::vector<float> c(items.size());
  for (size_t j = 0; j < items.size(); ++j) {
    c[j] = confidence(raw[j]);
    Eigen::Map<const Eigen::VectorXf> y(Y_.data() + static_cast<size_t>(items[j]) * f_, f_);
    A.selfadjointView<Eigen::Lower>().rankUpdate(y, c[j] - 1.0f);
  }
  Eigen::LLT<Eigen::MatrixXf> llt(A.selfadjointView<Eigen::Lower>());
  Eigen::VectorXf wy = llt.solve(Eigen::Map<const Eigen::VectorXf>(Y_.data() + static_cast<size_t>(item) * f_, f_));
  std::vector<std::pair<int32_t, float>> out;
  for (size_t j = 0; j < items.size(); ++j) {
    Eigen::Map<const Eigen::VectorXf> y(Y_.data() + static_cast<size_t>(items[j]) * f_, f_);
    out.push_back({items[j], wy.dot(y) * c[j]});
  }
  std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.second > b.second; });
  if (static_cast<int>(out.size()) > k) out.resize(k);
  return out;
}

void ImplicitAls::save_tensors(TensorMap& out) const {
  out["user_factors"] = Tensor::borrow(X_, {n_users(), f_});
  out["item_factors"] = Tensor::borrow(Y_, {n_items(), f_});
  out["train_values"] = Tensor::borrow(train_values_);
}

void ImplicitAls::load_tensors(const TensorMap& in) {
  const Tensor& x = require_tensor(in, "user_factors", DType::kF32);
  if (x.shape.size() != 2 || x.shape[0] != n_users()) throw Error("model file: user_factors has the wrong shape");
  f_ = static_cast<int>(x.shape[1]);
  X_ = x.as_f32();
  Y_ = require_tensor(in, "item_factors", DType::kF32, static_cast<int64_t>(n_items()) * f_).as_f32();
  train_values_ = require_tensor(in, "train_values", DType::kF32, static_cast<int64_t>(seen().indices.size())).as_f32();
  auto finite = [](float v) { return std::isfinite(v); };
  if (!std::all_of(X_.begin(), X_.end(), finite) || !std::all_of(Y_.begin(), Y_.end(), finite))
    throw Error("model file: factors contain NaN or infinity");
}

}  // namespace mfkit
