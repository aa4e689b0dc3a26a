#include "models/factors.h"

#include <Eigen/Dense>

#include <algorithm>
#include <cmath>
#include <random>

#include "core/hash.h"
#include "core/huge_pages.h"
#include "kernels/sgd.h"
#include "mfkit/error.h"
#include "mfkit/model_file.h"

namespace mfkit {

using RowMat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

namespace {
uint64_t splitmix(uint64_t& s) {
  uint64_t z = (s += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

void keyed_normal_row(std::string_view name, int k, double std, uint64_t seed, float* out) {
  uint64_t s = seed ^ fnv1a(name);
  for (int j = 0; j < k; j += 2) {  // Box-Muller: two normals from two uniforms
    const double u1 = (static_cast<double>(splitmix(s) >> 11) + 1.0) * 0x1.0p-53;
    const double u2 = static_cast<double>(splitmix(s) >> 11) * 0x1.0p-53;
    const double r = std * std::sqrt(-2.0 * std::log(u1)), a = 6.283185307179586 * u2;
    out[j] = static_cast<float>(r * std::cos(a));
    if (j + 1 < k) out[j + 1] = static_cast<float>(r * std::sin(a));
  }
}

}  // namespace

void keyed_normal_rows(const std::vector<std::string>& names, int k, double std, uint64_t seed, float* out) {
  const int64_t n = static_cast<int64_t>(names.size());
#pragma omp parallel for schedule(static) if (n > 100000)
  for (int64_t r = 0; r < n; ++r) keyed_normal_row(names[r], k, std, seed, out + static_cast<size_t>(r) * k);
}

void uniform_rows(int64_t rows, int k, double std, uint64_t seed, float* out, int threads) {
  const float scale = static_cast<float>(std * std::sqrt(3.0) * 0x1.0p-31);  // [-2^31, 2^31) -> [-a, a)
#pragma omp parallel for schedule(static) num_threads(threads) if (rows * k > 100000)
  for (int64_t r = 0; r < rows; ++r) {
    uint64_t st = seed ^ (static_cast<uint64_t>(r) * 0xD1B54A32D192ED03ULL);
    float* o = out + static_cast<size_t>(r) * k;
    for (int j = 0; j < k; j += 2) {  // two 32-bit values from each draw
      const uint64_t z = splitmix(st);
      o[j] = static_cast<float>(static_cast<int32_t>(static_cast<uint32_t>(z))) * scale;
      if (j + 1 < k) o[j + 1] = static_cast<float>(static_cast<int32_t>(static_cast<uint32_t>(z >> 32))) * scale;
    }
  }
}

void Factors::init(const Interactions& train, int k_, double std, uint64_t seed, bool clip_) {
  k = k_;
  clip = clip_;
  mu = static_cast<float>(train.mean_value());
  const auto& v = train.by_user().values;
  lo = *std::min_element(v.begin(), v.end());
  hi = *std::max_element(v.begin(), v.end());
  bu.assign(train.n_users(), 0.0f);
  bi.assign(train.n_items(), 0.0f);
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> dist(0.0f, static_cast<float>(std));
  P.clear();
  Q.clear();
  resize_huge(P, static_cast<size_t>(train.n_users()) * k);
  resize_huge(Q, static_cast<size_t>(train.n_items()) * k);
  for (auto& x : P) x = dist(rng);
  for (auto& x : Q) x = dist(rng);
}

void Factors::predict(const int32_t* users, const int32_t* items, size_t n, float* out) const {
  const int32_t nu = n_users(), ni = n_items();
  for (size_t e = 0; e < n; ++e) {
    int32_t u = users[e], i = items[e];
    bool ku = u >= 0 && u < nu, ki = i >= 0 && i < ni;
    float s = mu + (ku ? bu[u] : 0.0f) + (ki ? bi[i] : 0.0f);
    if (ku && ki) {
      const float* p = P.data() + static_cast<size_t>(u) * k;
      const float* q = Q.data() + static_cast<size_t>(i) * k;
      float d = 0;
      for (int f = 0; f < k; ++f) d += p[f] * q[f];
      s += d;
    }
    out[e] = clip ? std::clamp(s, lo, hi) : s;
  }
}

std::vector<float> row_of(const std::vector<float>& m, int k, int32_t r, int32_t rows) {
  if (r < 0 || r >= rows) throw NotFoundError("user index " + std::to_string(r) + " is unknown");
  return std::vector<float>(m.begin() + static_cast<size_t>(r) * k, m.begin() + static_cast<size_t>(r + 1) * k);
}

std::vector<float> keys_with_bias(const std::vector<float>& Y, const std::vector<float>& b, int k, int* dim) {
  const size_t n = k > 0 ? Y.size() / k : 0;
  std::vector<float> out(n * (k + 1));
  for (size_t i = 0; i < n; ++i) {
    std::copy_n(Y.data() + i * k, k, out.data() + i * (k + 1));
    out[i * (k + 1) + k] = b.empty() ? 0.0f : b[i];
  }
  *dim = k + 1;
  return out;
}

void set_rows(std::vector<float>& X, int dim, int32_t n, const std::vector<int32_t>& users,
              const std::vector<std::vector<float>>& states) {
  X.resize(static_cast<size_t>(n) * dim, 0.0f);
  for (size_t r = 0; r < users.size(); ++r)
    std::copy_n(states[r].begin(), dim, X.begin() + static_cast<size_t>(users[r]) * dim);
}

void Factors::score(const int32_t* users, size_t n, float* out) const {
  const int32_t ni = n_items();
  dot_scores(P.data(), Q.data(), ni, k, users, n, out);
  Eigen::Map<RowMat> S(out, static_cast<Eigen::Index>(n), ni);
  Eigen::Map<const Eigen::RowVectorXf> b(bi.data(), ni);
  for (size_t r = 0; r < n; ++r) {
    S.row(static_cast<Eigen::Index>(r)).array() += b.array() + (mu + bu[users[r]]);
    if (clip) S.row(static_cast<Eigen::Index>(r)) = S.row(static_cast<Eigen::Index>(r)).cwiseMax(lo).cwiseMin(hi);
  }
}

double Factors::rmse(const Interactions& m) const {
  if (m.nnz() == 0) return 0;
  const Csr& c = m.by_user();
  double s = 0;
  for (int32_t u = 0; u < m.n_users(); ++u)
    for (int64_t e = c.indptr[u]; e < c.indptr[u + 1]; ++e) {
      float p;
      int32_t i = c.indices[e];
      predict(&u, &i, 1, &p);
      s += (double(p) - c.values[e]) * (double(p) - c.values[e]);
    }
  return std::sqrt(s / m.nnz());
}

std::vector<float> Factors::fold_in(const std::vector<int32_t>& items, const std::vector<float>& values,
                                    float reg) const {
  if (items.size() != values.size()) throw Error("fold-in: items and values differ in length");
  const int d = k + 1;
  Eigen::MatrixXf A = Eigen::MatrixXf::Zero(d, d);
  Eigen::VectorXf b = Eigen::VectorXf::Zero(d), y(d);
  for (size_t e = 0; e < items.size(); ++e) {
    if (items[e] < 0 || items[e] >= n_items()) throw NotFoundError("fold-in: item index out of range");
    y[0] = 1.0f;
    std::copy_n(Q.data() + static_cast<size_t>(items[e]) * k, k, y.data() + 1);
    A.selfadjointView<Eigen::Lower>().rankUpdate(y);
    b += y * (values[e] - mu - bi[items[e]]);
  }
  A.diagonal().array() += reg * std::max<float>(1.0f, static_cast<float>(items.size()));
  Eigen::VectorXf x = A.selfadjointView<Eigen::Lower>().llt().solve(b);
  return std::vector<float>(x.data(), x.data() + d);
}

void Factors::score_new_user(const std::vector<int32_t>& items, const std::vector<float>& values, float reg,
                             float* out) const {
  std::vector<float> bx = fold_in(items, values, reg);
  Eigen::Map<const Eigen::VectorXf> x(bx.data(), k + 1);
  Eigen::Map<const RowMat> Qm(Q.data(), n_items(), k);
  Eigen::Map<Eigen::VectorXf> s(out, n_items());
  s.noalias() = Qm * x.tail(k);
  s.array() += Eigen::Map<const Eigen::VectorXf>(bi.data(), n_items()).array() + (mu + x[0]);
  if (clip) s = s.cwiseMax(lo).cwiseMin(hi);
}

bool Factors::finite() const {
  auto ok = [](const std::vector<float>& v) {
    return std::all_of(v.begin(), v.end(), [](float x) { return std::isfinite(x); });
  };
  return std::isfinite(mu) && ok(bu) && ok(bi) && ok(P) && ok(Q);
}

void Factors::save(TensorMap& out, const std::string& prefix) const {
  out[prefix + "mu"] = Tensor::f32({mu, lo, hi});
  out[prefix + "user_bias"] = Tensor::borrow(bu);
  out[prefix + "item_bias"] = Tensor::borrow(bi);
  out[prefix + "user_factors"] = Tensor::borrow(P, {n_users(), k});
  out[prefix + "item_factors"] = Tensor::borrow(Q, {n_items(), k});
}

void Factors::load(const TensorMap& in, int32_t nu, int32_t ni, const std::string& prefix) {
  auto m = require_tensor(in, prefix + "mu", DType::kF32, 3).as_f32();
  mu = m[0];
  lo = m[1];
  hi = m[2];
  bu = require_tensor(in, prefix + "user_bias", DType::kF32, nu).as_f32();
  bi = require_tensor(in, prefix + "item_bias", DType::kF32, ni).as_f32();
  const Tensor& p = require_tensor(in, prefix + "user_factors", DType::kF32);
  if (p.shape.size() != 2 || p.shape[0] != nu)
    throw Error("model file: " + prefix + "user_factors has the wrong shape");
  k = static_cast<int>(p.shape[1]);
  P = p.as_f32();
  Q = require_tensor(in, prefix + "item_factors", DType::kF32, static_cast<int64_t>(ni) * k).as_f32();
  if (!finite()) throw Error("model file: factors contain NaN or infinity");
}

void to_sgd_state(const Factors& f, SgdState& s, int threads) {
  s.allocate(SgdRow(f.k), f.n_users(), f.n_items());
  s.mu = f.mu;
  const int32_t n = s.n_users + s.n_items;
#pragma omp parallel for num_threads(threads) schedule(static, 4096)
  for (int32_t r = 0; r < n; ++r) {
    const bool user = r < s.n_users;
    const int32_t j = user ? r : r - s.n_users;
    s.row.put(s.users + static_cast<size_t>(r) * s.row.stride, (user ? f.P : f.Q).data() + static_cast<size_t>(j) * f.k,
              (user ? f.bu : f.bi)[j]);
  }
}

void from_sgd_state(const SgdState& s, Factors& f, int threads) {
  const int32_t n = s.n_users + s.n_items;
#pragma omp parallel for num_threads(threads) schedule(static, 4096)
  for (int32_t r = 0; r < n; ++r) {
    const bool user = r < s.n_users;
    const int32_t j = user ? r : r - s.n_users;
    (user ? f.bu : f.bi)[j] = s.row.get((user ? s.users : s.items) + static_cast<size_t>(j) * s.row.stride,
                                        (user ? f.P : f.Q).data() + static_cast<size_t>(j) * f.k);
  }
}

}  // namespace mfkit
