// meta-mf: an exchangeable encoder outputs factor priors; T closed-form gradient steps of MAP
// estimation adapt them; the query error back-propagates through the steps (see mfkit/meta.h).
#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <chrono>
#include <cmath>

#include "meta/meta_impl.h"
#include "mfkit/error.h"
#include "mfkit/meta.h"
#include "mfkit/model_file.h"
#include "torch/torch_util.h"

namespace mfkit {

namespace {

using torch::Tensor;
namespace nn = torch::nn;

// Hartford et al.'s exchangeable layer on the observed entries of a sparse matrix: each entry's
// features plus the means over its row, its column and the whole matrix, each through its own
// linear map.
struct ExchangeableImpl : nn::Module {
  nn::Linear self{nullptr}, row{nullptr}, col{nullptr}, all{nullptr};
  ExchangeableImpl(int in, int out) {
    self = register_module("self", nn::Linear(in, out));
    row = register_module("row", nn::Linear(nn::LinearOptions(in, out).bias(false)));
    col = register_module("col", nn::Linear(nn::LinearOptions(in, out).bias(false)));
    all = register_module("all", nn::Linear(nn::LinearOptions(in, out).bias(false)));
  }
};
TORCH_MODULE(Exchangeable);

// Everything an episode needs as tensors.
struct Batch {
  Tensor rows, cols, vals;        // support
  Tensor q_rows, q_cols, q_vals;  // query
  Tensor row_cnt, col_cnt;        // [R, 1], [C, 1] support counts
  int64_t n_rows = 0, n_cols = 0;
  double mu = 0, lo = 0, hi = 0;  // support mean and range
};

Batch to_batch(const Episode& e, torch::Dtype dt) {
  if (e.s_vals.empty()) throw InputError("episode", 0, "no observed entries");
  Batch b;
  b.n_rows = e.n_rows;
  b.n_cols = e.n_cols;
  auto idx = [](const std::vector<int32_t>& v) {
    return torch::from_blob(const_cast<int32_t*>(v.data()), {static_cast<int64_t>(v.size())}, torch::kInt)
        .to(torch::kLong);
  };
  auto val = [dt](const std::vector<float>& v) {
    return torch::from_blob(const_cast<float*>(v.data()), {static_cast<int64_t>(v.size())}, torch::kFloat).to(dt);
  };
  b.rows = idx(e.s_rows), b.cols = idx(e.s_cols), b.vals = val(e.s_vals);
  b.q_rows = idx(e.q_rows), b.q_cols = idx(e.q_cols), b.q_vals = val(e.q_vals);
  double s = 0;
  b.lo = b.hi = e.s_vals[0];
  for (float v : e.s_vals) s += v, b.lo = std::min<double>(b.lo, v), b.hi = std::max<double>(b.hi, v);
  b.mu = s / e.s_vals.size();
  auto ones = torch::ones({b.rows.size(0), 1}, dt);
  b.row_cnt = torch::zeros({b.n_rows, 1}, dt).index_add_(0, b.rows, ones);
  b.col_cnt = torch::zeros({b.n_cols, 1}, dt).index_add_(0, b.cols, ones);
  return b;
}

Tensor scatter_mean(const Tensor& h, const Tensor& idx, int64_t n, const Tensor& cnt) {
  return torch::zeros({n, h.size(1)}, h.options()).index_add_(0, idx, h) / cnt.clamp_min(1);
}

struct NetImpl : nn::Module {
  MetaMfParams p;
  std::vector<Exchangeable> layers;
  nn::Sequential row_head{nullptr}, col_head{nullptr};
  Tensor u0, v0, init_scale;  // MAML-style: learned shared init (encoder = false)
  Tensor raw_step, log_prec, log_prec_bias;

  explicit NetImpl(const MetaMfParams& params) : p(params) {
    const int k = p.factors, w = p.width;
    if (p.encoder) {
      int in = 3;  // rating - mean, log1p(row count), log1p(column count)
      for (int l = 0; l < p.layers; ++l) {
        layers.push_back(register_module("ex" + std::to_string(l), Exchangeable(in, w)));
        in = w;
      }
      // Pooled row (column) features + log1p(count) -> prior mean (K), bias, log-precision shift.
      auto head = [&](const std::string& name) {
        return register_module(name, nn::Sequential(nn::Linear(w + 1, w), nn::ReLU(), nn::Linear(w, k + 2)));
      };
      row_head = head("row_head");
      col_head = head("col_head");
    } else {
      u0 = register_parameter("u0", torch::randn({k}) * 0.1);
      v0 = register_parameter("v0", torch::randn({k}) * 0.1);
      init_scale = register_parameter("init_scale", torch::full({1}, std::log(0.1)));
    }
    double s = p.step_size;
    raw_step = register_parameter("raw_step", torch::full({1}, std::log(s / (1 - s))), p.learn_step);
    log_prec = register_parameter("log_prec", torch::full({1}, std::log(p.prior_precision)), p.learn_step);
    log_prec_bias = register_parameter("log_prec_bias", torch::full({1}, std::log(p.prior_precision)), p.learn_step);
  }

  struct Prior {
    Tensor mu_u, mu_v, b_u, b_v, prec_u, prec_v;  // means [R,K],[C,K],[R],[C]; precisions [R,1],[C,1]
  };

  Prior prior(const Batch& b) {
    Prior pr;
    const int k = p.factors;
    auto dt = raw_step.dtype();
    if (p.encoder) {
      Tensor lr = torch::log1p(b.row_cnt), lc = torch::log1p(b.col_cnt);
      Tensor h = torch::stack(
          {b.vals - b.mu, lr.index_select(0, b.rows).squeeze(1) / 4, lc.index_select(0, b.cols).squeeze(1) / 4}, 1);
      for (size_t l = 0; l < layers.size(); ++l) {
        auto& L = layers[l];
        Tensor rm = scatter_mean(h, b.rows, b.n_rows, b.row_cnt), cm = scatter_mean(h, b.cols, b.n_cols, b.col_cnt);
        Tensor out = L->self(h) + L->row(rm).index_select(0, b.rows) + L->col(cm).index_select(0, b.cols) +
                     L->all(h.mean(0, true));
        h = torch::relu(out);
      }
      Tensor rh = row_head->forward(torch::cat({scatter_mean(h, b.rows, b.n_rows, b.row_cnt), lr / 4}, 1));
      Tensor ch = col_head->forward(torch::cat({scatter_mean(h, b.cols, b.n_cols, b.col_cnt), lc / 4}, 1));
      pr.mu_u = rh.slice(1, 0, k), pr.b_u = rh.select(1, k),
      pr.prec_u = torch::exp(log_prec + rh.slice(1, k + 1, k + 2).clamp(-5, 5));
      pr.mu_v = ch.slice(1, 0, k), pr.b_v = ch.select(1, k),
      pr.prec_v = torch::exp(log_prec + ch.slice(1, k + 1, k + 2).clamp(-5, 5));
    } else {
      pr.mu_u = u0.expand({b.n_rows, k});
      pr.mu_v = v0.expand({b.n_cols, k});
      pr.b_u = torch::zeros({b.n_rows}, dt);
      pr.b_v = torch::zeros({b.n_cols}, dt);
      pr.prec_u = torch::exp(log_prec).expand({b.n_rows, 1});
      pr.prec_v = torch::exp(log_prec).expand({b.n_cols, 1});
    }
    return pr;
  }

  // Predictions for (rows, cols) after `steps` MAP gradient steps from the prior (or, for the
  // MAML-style variant, from the shared init plus fixed noise).
  Tensor adapt_predict(const Batch& b, int steps, const Tensor& rows, const Tensor& cols) {
    Prior pr = prior(b);
    Tensor U = pr.mu_u, V = pr.mu_v, bu = pr.b_u, bv = pr.b_v;
    if (!p.encoder) {
      // Symmetry breaking: identical rows would stay identical (rank one); the noise is drawn
      // from a fixed seed so a matrix always gets the same answer.
      auto gen = at::make_generator<at::CPUGeneratorImpl>(12345);
      U = U + torch::exp(init_scale) * torch::randn({b.n_rows, p.factors}, gen, U.options());
      V = V + torch::exp(init_scale) * torch::randn({b.n_cols, p.factors}, gen, V.options());
    }
    Tensor eta = torch::sigmoid(raw_step);
    Tensor prec_b = torch::exp(log_prec_bias);
    Tensor y = b.vals - b.mu;
    for (int t = 0; t < steps; ++t) {
      Tensor Ur = U.index_select(0, b.rows), Vc = V.index_select(0, b.cols);
      Tensor e = bu.index_select(0, b.rows) + bv.index_select(0, b.cols) + (Ur * Vc).sum(1) - y;  // residual
      // Gradients of sum e^2 + prec |U - mu|^2 (halved), each row scaled by 1/(count + prec):
      // a diagonal preconditioner that makes one step size fit rows with 1 or 500 entries.
      Tensor gU = torch::zeros_like(U).index_add(0, b.rows, e.unsqueeze(1) * Vc) + pr.prec_u * (U - pr.mu_u);
      Tensor gV = torch::zeros_like(V).index_add(0, b.cols, e.unsqueeze(1) * Ur) + pr.prec_v * (V - pr.mu_v);
      Tensor gbu = torch::zeros_like(bu).index_add(0, b.rows, e) + prec_b * (bu - pr.b_u);
      Tensor gbv = torch::zeros_like(bv).index_add(0, b.cols, e) + prec_b * (bv - pr.b_v);
      U = U - eta * gU / (b.row_cnt + pr.prec_u);
      V = V - eta * gV / (b.col_cnt + pr.prec_v);
      bu = bu - eta * gbu / (b.row_cnt.squeeze(1) + prec_b);
      bv = bv - eta * gbv / (b.col_cnt.squeeze(1) + prec_b);
    }
    return b.mu + bu.index_select(0, rows) + bv.index_select(0, cols) +
           (U.index_select(0, rows) * V.index_select(0, cols)).sum(1);
  }

  Tensor query_loss(const Batch& b, int steps) {
    if (b.q_vals.numel() == 0) return torch::zeros({}, raw_step.options());
    Tensor pred = adapt_predict(b, steps, b.q_rows, b.q_cols);
    return (pred - b.q_vals).pow(2).mean();
  }
};
TORCH_MODULE(Net);

}  // namespace

// MetaMf's network in libtorch (see meta/meta_impl.h).
class TorchMetaMf : public MetaMf::Impl {
 public:
  explicit TorchMetaMf(const MetaMfParams& params) : Impl(params) {
    torch::manual_seed(1);
    net_ = Net(p);
  }

  std::vector<float> predict(const Episode& e, int steps) override {
    torch::NoGradGuard g;
    Batch b = to_batch(e, dtype_);
    torch::Tensor pred = net_->adapt_predict(b, steps, b.q_rows, b.q_cols);
    pred = pred.clamp(b.lo, b.hi).to(torch::kFloat).contiguous();
    return std::vector<float>(pred.data_ptr<float>(), pred.data_ptr<float>() + pred.numel());
  }

  std::vector<float> impute(const Episode& e) override {
    torch::NoGradGuard g;
    Batch b = to_batch(e, dtype_);
    torch::Tensor r = torch::arange(b.n_rows).repeat_interleave(b.n_cols), c = torch::arange(b.n_cols).repeat(b.n_rows);
    torch::Tensor pred = net_->adapt_predict(b, p.steps, r, c).clamp(b.lo, b.hi).to(torch::kFloat).contiguous();
    return std::vector<float>(pred.data_ptr<float>(), pred.data_ptr<float>() + pred.numel());
  }

  nlohmann::json learned() override {
    torch::NoGradGuard g;
    auto& n = *net_;
    return {{"step_size", torch::sigmoid(n.raw_step).item<double>()},
            {"prior_precision", torch::exp(n.log_prec).item<double>()},
            {"bias_prior_precision", torch::exp(n.log_prec_bias).item<double>()}};
  }

  double meta_train(const EpisodeSource& src, const EpisodeSpec& spec, const Context& ctx,
                    const std::function<bool(const MetaTrainInfo&)>& on_eval) override {
    configure_torch_threads(1);  // tiny ops: one thread is fastest, and leaves the other core free
    torch::manual_seed(ctx.seed);
    net_ = Net(p);
    auto& net = net_;
    std::mt19937_64 rng(ctx.seed * 7919 + 1), vrng(ctx.seed * 104729 + 2);
    std::uniform_real_distribution<double> ratio(std::max(0.05, spec.observed - 0.25),
                                                 std::min(0.9, spec.observed + 0.25));
    std::vector<Episode> valid;
    for (int k = 0; k < p.valid_episodes; ++k) valid.push_back(src.sample(EpisodeSource::kValid, spec, vrng));
    auto valid_rmse = [&] {
      double s = 0;
      for (const auto& e : valid) s += query_rmse(e, predict(e, p.steps));
      return s / valid.size();
    };
    torch::optim::Adam opt(net->parameters(), torch::optim::AdamOptions(p.learning_rate));
    auto t0 = std::chrono::steady_clock::now();
    double best = valid_rmse(), running = 0;
    int since_best = 0, running_n = 0;
    TensorMap best_state;
    save_module(*net, "", best_state);
    for (int step = 1; step <= p.max_steps; ++step) {
      opt.zero_grad();
      torch::Tensor loss = torch::zeros({});
      for (int k = 0; k < p.batch; ++k) {
        // Observation ratios vary around spec.observed so one model serves a range of them.
        Episode e = src.sample(EpisodeSource::kTrain, spec, rng, ratio(rng));
        if (e.q_vals.empty()) continue;
        torch::Tensor l = net->query_loss(to_batch(e, torch::kFloat), p.steps);
        loss = loss + l / p.batch;
        running += std::sqrt(l.item<double>()), ++running_n;
      }
      if (!std::isfinite(loss.item<double>()))
        throw DivergedError("meta-mf: meta-training loss is not finite at step " + std::to_string(step));
      loss.backward();
      torch::nn::utils::clip_grad_norm_(net->parameters(), 5.0);
      opt.step();
      double minutes = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / 60;
      bool out_of_time = minutes > p.max_minutes;
      if (step % p.eval_every == 0 || step == p.max_steps || out_of_time) {
        MetaTrainInfo info{step, running / std::max(1, running_n), valid_rmse(), minutes * 60};
        running = 0, running_n = 0;
        if (info.valid_rmse < best) {
          best = info.valid_rmse, since_best = 0;
          best_state.clear();
          save_module(*net, "", best_state);
        } else {
          ++since_best;
        }
        bool go_on = on_eval ? on_eval(info) : true;
        if (!go_on || since_best >= p.patience || out_of_time) break;
      }
    }
    load_module(*net, "", best_state);
    return best;
  }

  void save_tensors(const std::string& prefix, TensorMap& out) override { save_module(*net_, prefix, out); }
  void load_tensors(const std::string& prefix, const TensorMap& in) override { load_module(*net_, prefix, in); }

  double loss_and_grad(const Episode& e, std::vector<double>* grad) override {
    net_->to(torch::kDouble);
    dtype_ = torch::kDouble;
    for (auto& t : net_->parameters()) t.mutable_grad() = torch::Tensor();
    torch::Tensor loss = net_->query_loss(to_batch(e, torch::kDouble), p.steps);
    loss.backward();
    if (grad) {
      grad->clear();
      for (auto& t : net_->parameters()) {
        torch::Tensor g = t.grad().defined() ? t.grad() : torch::zeros_like(t);
        g = g.contiguous().to(torch::kDouble);
        grad->insert(grad->end(), g.data_ptr<double>(), g.data_ptr<double>() + g.numel());
      }
    }
    return loss.item<double>();
  }

  std::vector<double> get_flat() override {
    std::vector<double> out;
    for (auto& t : net_->parameters()) {
      torch::Tensor c = t.detach().contiguous().to(torch::kDouble);
      out.insert(out.end(), c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
    }
    return out;
  }

  void set_flat(const std::vector<double>& v) override {
    torch::NoGradGuard g;
    size_t at = 0;
    for (auto& t : net_->parameters()) {
      int64_t n = t.numel();
      if (at + n > v.size()) throw Error("meta-mf: set_flat got too few values");
      torch::Tensor src = torch::from_blob(const_cast<double*>(v.data() + at), t.sizes(), torch::kDouble).to(t.dtype());
      t.copy_(src);
      at += n;
    }
  }

 private:
  Net net_{nullptr};
  torch::Dtype dtype_ = torch::kFloat;
};

std::unique_ptr<MetaMf::Impl> new_torch_meta_mf(const MetaMfParams& p) { return std::make_unique<TorchMetaMf>(p); }

}  // namespace mfkit
