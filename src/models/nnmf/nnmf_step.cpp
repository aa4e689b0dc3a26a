#include "models/nnmf/nnmf_step.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <optional>

namespace mfkit::nnmf {

namespace {

void activate(torch::Tensor& z, const std::string& name) {
  if (name == "relu")
    z.relu_();
  else if (name == "tanh")
    z.tanh_();
  else if (name == "elu")
    z = torch::elu(z);
  else
    z.sigmoid_();
}

// d activation / dz from the activation's output a.
torch::Tensor derivative(const torch::Tensor& a, const std::string& name) {
  if (name == "relu") return (a > 0).to(a.scalar_type());
  if (name == "tanh") return 1 - a * a;
  if (name == "elu") return torch::where(a > 0, torch::ones_like(a), a + 1);
  return a * (1 - a);
}

struct Chunk {
  double sse = 0;
  std::vector<torch::Tensor> weights;
  torch::Tensor du, dup, dv, dvp, dbias;
};

Chunk pass(const Member& m, const NnmfParams& p, const std::vector<torch::nn::Linear>& layers, const torch::Tensor& u,
           const torch::Tensor& i, const torch::Tensor& r, bool weights, bool inputs, uint64_t seed) {
  torch::NoGradGuard no_grad;  // grad mode is per thread
  const int64_t b = u.size(0), dk = static_cast<int64_t>(p.d_prime) * p.k;
  torch::Tensor U = m.U.index_select(0, u), V = m.V.index_select(0, i);
  torch::Tensor Up = m.Up.index_select(0, u).view({b, p.d_prime, p.k}),
                Vp = m.Vp.index_select(0, i).view({b, p.d_prime, p.k});
  std::vector<torch::Tensor> parts;
  if (p.d > 0) parts = {U, V};
  if (p.d_prime > 0) parts.push_back((Up * Vp).sum(2));
  const torch::Tensor prod = parts.back();                // the product block (read by the skip path)
  std::vector<torch::Tensor> h = {torch::cat(parts, 1)};  // inputs of each layer
  std::vector<torch::Tensor> act, mask;                   // activations before dropout; dropout masks
  const size_t hidden = layers.size() - 1;
  c10::optional<at::Generator> gen;
  if (p.dropout > 0) gen = at::detail::createCPUGenerator(seed);
  for (size_t l = 0; l < hidden; ++l) {
    torch::Tensor a = torch::addmm(layers[l]->bias, h.back(), layers[l]->weight.t());
    activate(a, p.activation);
    act.push_back(a);
    if (p.dropout > 0) {
      mask.push_back(torch::empty_like(a).bernoulli_(1 - p.dropout, gen).div_(1 - p.dropout));
      h.push_back(a * mask.back());
    } else {
      h.push_back(a);
    }
  }
  const auto& out = layers.back();
  torch::Tensor y = torch::addmm(out->bias, h.back(), out->weight.t()).squeeze(1);
  if (m.skip) y = y + prod.mv(m.skip->weight.squeeze(0));
  if (p.biases) y = y + m.bu.index_select(0, u) + m.bi.index_select(0, i);
  // The loss is in the network's unit: ((mu + scale * y) - r) / scale.
  torch::Tensor e = y - (r - m.mu) / m.scale;  // exact for the paper's mu 0 and scale 1
  Chunk c;
  c.sse = e.dot(e).item<double>();
  torch::Tensor g = (2 * e).unsqueeze(1);  // d loss / d y
  std::vector<torch::Tensor> dw(2 * layers.size() + (m.skip ? 1 : 0));
  if (weights) {
    dw[2 * hidden] = g.t().mm(h.back());
    dw[2 * hidden + 1] = g.sum(0);
    if (m.skip) dw.back() = g.t().mm(prod);
  }
  torch::Tensor dh = g.mm(out->weight);
  for (size_t l = hidden; l-- > 0;) {
    if (p.dropout > 0) dh.mul_(mask[l]);
    torch::Tensor dz = dh.mul_(derivative(act[l], p.activation));
    if (weights) {
      dw[2 * l] = dz.t().mm(h[l]);
      dw[2 * l + 1] = dz.sum(0);
    }
    if (l > 0 || inputs) dh = dz.mm(layers[l]->weight);
  }
  if (weights) c.weights = std::move(dw);
  if (inputs) {
    c.du = dh.narrow(1, 0, p.d);
    c.dv = dh.narrow(1, p.d, p.d);
    torch::Tensor dprod = dh.narrow(1, 2 * p.d, p.d_prime);
    if (m.skip) dprod = dprod + g.mm(m.skip->weight);
    dprod = dprod.unsqueeze(2);
    c.dup = (dprod * Vp).view({b, dk});
    c.dvp = (dprod * Up).view({b, dk});
    if (p.biases) c.dbias = g.squeeze(1);
  }
  return c;
}

}  // namespace

std::vector<torch::nn::Linear> linear_layers(const Member& m) {
  std::vector<torch::nn::Linear> out;
  for (const auto& child : m.net->children())
    if (auto lin = std::dynamic_pointer_cast<torch::nn::LinearImpl>(child)) out.emplace_back(lin);
  return out;
}

BatchGrads backprop(const Member& m, const NnmfParams& p, const torch::Tensor& u, const torch::Tensor& i,
                    const torch::Tensor& r, bool weights, bool inputs, uint64_t seed) {
  const auto layers = linear_layers(m);
  const int64_t n = u.size(0);
  // Chunks of at least 1024 rows: below that a GEMM per thread no longer pays for the split.
  const int64_t chunks = std::max<int64_t>(1, std::min<int64_t>(at::get_num_threads(), n / 1024));
  std::vector<Chunk> parts(chunks);
  auto run = [&](int64_t c) {
    const int64_t lo = n * c / chunks, hi = n * (c + 1) / chunks;
    parts[c] = pass(m, p, layers, u.slice(0, lo, hi), i.slice(0, lo, hi), r.slice(0, lo, hi), weights, inputs,
                    seed * 1000003 + c);
  };
  if (chunks == 1)
    run(0);
  else
    at::parallel_for(0, chunks, 1, [&](int64_t b, int64_t e) {
      for (int64_t c = b; c < e; ++c) run(c);
    });
  BatchGrads g;
  for (const Chunk& c : parts) g.sse += c.sse;
  if (weights) {
    g.weights = parts[0].weights;
    for (int64_t c = 1; c < chunks; ++c)
      for (size_t k = 0; k < g.weights.size(); ++k) g.weights[k] += parts[c].weights[k];
  }
  if (inputs) {
    auto cat = [&](torch::Tensor Chunk::*field) {
      std::vector<torch::Tensor> v;
      for (const Chunk& c : parts) v.push_back(c.*field);
      return chunks == 1 ? v[0].contiguous() : torch::cat(v, 0);
    };
    g.du = cat(&Chunk::du);
    g.dup = cat(&Chunk::dup);
    g.dv = cat(&Chunk::dv);
    g.dvp = cat(&Chunk::dvp);
    if (p.biases) g.dbias = cat(&Chunk::dbias);
  }
  return g;
}

LatentSide::LatentSide(std::vector<torch::Tensor> params, const torch::Tensor& count, double reg_exponent)
    : params_(std::move(params)) {
  for (const auto& x : params_) {
    s1_.push_back(x.defined() ? torch::zeros_like(x) : x);
    s2_.push_back(x.defined() ? torch::zeros_like(x) : x);
    grad_.push_back(x.defined() ? torch::zeros_like(x) : x);
  }
  torch::Tensor c = count.contiguous();
  pen_weight_.resize(c.numel());
  for (int64_t k = 0; k < c.numel(); ++k)
    pen_weight_[k] = static_cast<float>(std::pow(std::max(1.0f, c.data_ptr<float>()[k]), reg_exponent - 1));
  marked_.assign(c.numel(), 0);
}

void LatentSide::step(const torch::Tensor& rows, const std::vector<torch::Tensor>& grads, const NnmfParams& p,
                      double lambda, double lr, int64_t t) {
  add(rows, grads, p, lambda);
  apply(p, lr, t);
}

void LatentSide::add(const torch::Tensor& rows, const std::vector<torch::Tensor>& grads, const NnmfParams& p,
                     double lambda) {
  const int64_t n = rows.size(0);
  const int64_t* row = rows.data_ptr<int64_t>();
  for (int64_t e = 0; e < n; ++e)
    if (!marked_[row[e]]) {
      marked_[row[e]] = 1;
      touched_.push_back(row[e]);
    }
  for (size_t k = 0; k < params_.size(); ++k) {
    if (!params_[k].defined() || !grads[k].defined()) continue;
    const int64_t w = params_[k].numel() / params_[k].size(0);
    if (w == 0) continue;
    const double lam = k < 2 ? lambda : p.bias_lambda;  // the paper penalises no bias (bias_lambda 0)
    const float* x = params_[k].data_ptr<float>();
    float* acc = grad_[k].data_ptr<float>();
    const float* ge = grads[k].data_ptr<float>();
    const float pen = static_cast<float>(2 * lam);
    for (int64_t e = 0; e < n; ++e) {
      const int64_t r = row[e];
      float* a = acc + r * w;
      const float* g = ge + e * w;
      const float* xr = x + r * w;
      const float scale = pen * pen_weight_[r];
      for (int64_t c = 0; c < w; ++c) a[c] += g[c] + scale * xr[c];
    }
  }
}

void LatentSide::apply(const NnmfParams& p, double lr, int64_t t) {
  const bool rmsprop = p.optimizer == "rmsprop";
  const double b1 = 0.9, b2 = 0.999, c1 = 1 - std::pow(b1, t), c2 = 1 - std::pow(b2, t);
  for (size_t k = 0; k < params_.size(); ++k) {
    if (!params_[k].defined()) continue;
    const int64_t w = params_[k].numel() / params_[k].size(0);
    if (w == 0) continue;
    float* x = params_[k].data_ptr<float>();
    float* s1 = s1_[k].data_ptr<float>();
    float* s2 = s2_[k].data_ptr<float>();
    float* acc = grad_[k].data_ptr<float>();
    const float step = static_cast<float>(lr);
    if (rmsprop) {  // TensorFlow's RMSProp (decay 0.9), as in the paper's reference code
      for (int64_t r : touched_) {
        float* a = acc + r * w;
        float* xr = x + r * w;
        float* sr = s1 + r * w;
#pragma omp simd
        for (int64_t c = 0; c < w; ++c) {
          const float g = a[c];
          a[c] = 0;
          sr[c] = 0.9f * sr[c] + 0.1f * g * g;
          xr[c] -= step * g / (std::sqrt(sr[c]) + 1e-10f);
        }
      }
    } else {  // Adam with a lazy (per-row) state and the global step count for bias correction
      const float fb1 = static_cast<float>(b1), fb2 = static_cast<float>(b2);
      const float ic1 = static_cast<float>(1 / c1), ic2 = static_cast<float>(1 / c2);
      for (int64_t r : touched_) {
        float* a = acc + r * w;
        float* xr = x + r * w;
        float* mr = s1 + r * w;
        float* vr = s2 + r * w;
#pragma omp simd
        for (int64_t c = 0; c < w; ++c) {
          const float g = a[c];
          a[c] = 0;
          mr[c] = fb1 * mr[c] + (1 - fb1) * g;
          vr[c] = fb2 * vr[c] + (1 - fb2) * g * g;
          xr[c] -= step * (mr[c] * ic1) / (std::sqrt(vr[c] * ic2) + 1e-8f);
        }
      }
    }
  }
  for (int64_t r : touched_) marked_[r] = 0;
  touched_.clear();
}

}  // namespace mfkit::nnmf
