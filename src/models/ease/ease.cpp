#include "mfkit/models/ease.h"

#include <Eigen/Dense>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "kernels/lapack.h"
#include "mfkit/error.h"
#include "mfkit/model_file.h"
#include "models/ease/ease_model.h"
#include "models/epochs.h"

namespace mfkit {

void EaseParams::visit(ParamVisitor& v) {
  v.param("reg", reg, "L2 on the item-item weights (Steck's lambda): larger for more data per item", 1e-6, 1e9);
  v.param("binary", binary, "use 1 for every observed cell; false = the training values (counts, ratings)");
  v.param("max_items", max_items, "refuse catalogues larger than this (the solve needs 4 n^2 bytes)", 1, 200000);
}

void Ease::do_fit(const Interactions& train, const FitOptions& opt) {
  const int32_t n = train.n_items();
  if (n > p_.max_items) {
    char need[32];
    std::snprintf(need, sizeof need, "%.2f GB", 4.0 * n * n / 1e9);
    throw ParamError("ease: " + std::to_string(n) + " items need about " + need +
                     " for the item x item solve, above max_items = " + std::to_string(p_.max_items) +
                     " (raise max_items if it fits, or use implicit-als or bpr)");
  }
  const Csr& cu = train.by_user();
  const Csr& ci = train.by_item();
  train_values_ = cu.values;
  EpochHooks h;
  h.step = [&](int) {
    // G = X^T X + reg I in float, row i from the users of item i (rows are independent); then
    // in place P = G^-1 by LAPACK's Cholesky (OpenBLAS's potrf, potri, on the context's
    // threads) and B_ij = -P_ij / P_jj: one n x n array at the peak.
    B_.assign(static_cast<size_t>(n) * n, 0.0f);
    float* g = B_.data();
#pragma omp parallel for schedule(dynamic, 16) num_threads(opt.ctx.threads)
    for (int32_t i = 0; i < n; ++i) {
      float* gi = g + static_cast<size_t>(i) * n;
      for (int64_t e = ci.indptr[i]; e < ci.indptr[i + 1]; ++e) {
        const int32_t u = ci.indices[e];
        const float xi = x(ci.values[e]);
        for (int64_t f = cu.indptr[u]; f < cu.indptr[u + 1]; ++f) gi[cu.indices[f]] += xi * x(cu.values[f]);
      }
      gi[i] += static_cast<float>(p_.reg);
    }
    if (!invert_spd(g, n, opt.ctx.threads)) {
      B_.clear();
      return double(NAN);
    }
    std::vector<float> diag(n);
    for (int32_t j = 0; j < n; ++j) diag[j] = g[static_cast<size_t>(j) * n + j];
#pragma omp parallel for schedule(static) num_threads(opt.ctx.threads)
    for (int32_t i = 0; i < n; ++i) {  // B_ij = -P_ij / P_jj, zero diagonal
      float* bi = g + static_cast<size_t>(i) * n;
      for (int32_t j = 0; j < n; ++j) bi[j] = i == j ? 0.0f : -bi[j] / diag[j];
    }
    return 0.0;
  };
  h.finite = [&] { return std::all_of(B_.begin(), B_.end(), [](float v) { return std::isfinite(v); }); };
  run_epochs(type(), 1, 0, opt, h);
}

void Ease::accumulate(const int32_t* items, const float* values, size_t m, float* out) const {
  const int32_t n = n_items();
  Eigen::Map<Eigen::VectorXf> o(out, n);
  o.setZero();
  for (size_t k = 0; k < m; ++k)
    o += x(values[k]) * Eigen::Map<const Eigen::VectorXf>(B_.data() + static_cast<size_t>(items[k]) * n, n);
}

void Ease::score(const int32_t* users, size_t m, float* out) const {
  const Csr& s = seen();
  for (size_t r = 0; r < m; ++r) {
    const int64_t b = s.indptr[users[r]], e = s.indptr[users[r] + 1];
    accumulate(s.indices.data() + b, train_values_.data() + b, static_cast<size_t>(e - b), out + r * n_items());
  }
}

void Ease::predict(const int32_t* users, const int32_t* items, size_t m, float* out) const {
  const Csr& s = seen();
  const size_t n = n_items();
  for (size_t k = 0; k < m; ++k) {
    const int32_t u = users[k], i = items[k];
    float v = 0;
    if (u >= 0 && u < n_users() && i >= 0 && i < n_items())
      for (int64_t e = s.indptr[u]; e < s.indptr[u + 1]; ++e) v += x(train_values_[e]) * B_[s.indices[e] * n + i];
    out[k] = v;
  }
}

void Ease::score_new_user(const std::vector<int32_t>& items, const std::vector<float>& values, float* out) const {
  if (items.size() != values.size()) throw Error("ease: items and values differ in length");
  for (int32_t i : items)
    if (i < 0 || i >= n_items()) throw NotFoundError("ease: fold-in item index out of range");
  accumulate(items.data(), values.data(), items.size(), out);
}

std::vector<std::pair<int32_t, float>> Ease::explain(int32_t user, int32_t item, int k) const {
  if (user < 0 || user >= n_users() || item < 0 || item >= n_items())
    throw NotFoundError("ease: explain: user or item index out of range");
  const Csr& s = seen();
  std::vector<std::pair<int32_t, float>> out;
  for (int64_t e = s.indptr[user]; e < s.indptr[user + 1]; ++e)
    out.push_back({s.indices[e], x(train_values_[e]) * B_[static_cast<size_t>(s.indices[e]) * n_items() + item]});
  std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.second > b.second; });
  if (static_cast<int>(out.size()) > k) out.resize(k);
  return out;
}

void Ease::save_tensors(TensorMap& out) const {
  out["item_weights"] = Tensor::borrow(B_, {n_items(), n_items()});
  out["train_values"] = Tensor::borrow(train_values_);
}

void Ease::load_tensors(const TensorMap& in) {
  B_ = require_tensor(in, "item_weights", DType::kF32, static_cast<int64_t>(n_items()) * n_items()).as_f32();
  train_values_ = require_tensor(in, "train_values", DType::kF32, static_cast<int64_t>(seen().indices.size())).as_f32();
  if (!std::all_of(B_.begin(), B_.end(), [](float v) { return std::isfinite(v); }))
    throw Error("model file: item_weights contain NaN or infinity");
}

}  // namespace mfkit
