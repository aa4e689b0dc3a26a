#include "mfkit/models/nnmf.h"

#include <Eigen/Dense>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>
#include <random>

#include "mfkit/error.h"
#include "mfkit/metrics.h"
#include "mfkit/model_file.h"
#include "mfkit/split.h"
#include "models/epochs.h"
#include "models/factor_models.h"
#include "models/nnmf/autorec.h"
#include "models/nnmf/nnmf_model.h"
#include "models/nnmf/nnmf_net.h"
#include "models/nnmf/nnmf_step.h"
#include "torch/torch_util.h"

namespace mfkit {

namespace nnmf {

namespace {

torch::nn::AnyModule activation(const std::string& name) {
  if (name == "relu") return torch::nn::AnyModule(torch::nn::ReLU());
  if (name == "tanh") return torch::nn::AnyModule(torch::nn::Tanh());
  if (name == "elu") return torch::nn::AnyModule(torch::nn::ELU());
  return torch::nn::AnyModule(torch::nn::Sigmoid());
}

torch::Tensor truncated_normal(std::vector<int64_t> shape, double std) {
  // Values beyond two standard deviations are redrawn (TensorFlow's truncated_normal).
  torch::Tensor x = torch::randn(shape);
  for (int pass = 0; pass < 16; ++pass) {
    torch::Tensor bad = x.abs() > 2;
    if (!bad.any().item<bool>()) break;
    x = torch::where(bad, torch::randn(shape), x);
  }
  return x.clamp(-2, 2) * std;
}

}  // namespace

void Member::init(const NnmfParams& p, int64_t users, int64_t items, double mean, uint64_t seed, double scale_) {
  torch::manual_seed(seed);
  const int64_t in = 2 * p.d + p.d_prime;
  net = torch::nn::Sequential();
  int64_t width = in;
  for (int l = 0; l < p.layers; ++l) {
    net->push_back(torch::nn::Linear(width, p.hidden));
    net->push_back(activation(p.activation));
    if (p.dropout > 0) net->push_back(torch::nn::Dropout(p.dropout));
    width = p.hidden;
  }
  net->push_back(torch::nn::Linear(width, 1));
  torch::NoGradGuard g;
  for (auto& m : net->modules(false)) {
    if (auto* lin = m->as<torch::nn::Linear>()) {
      const double fan = static_cast<double>(lin->weight.size(0) + lin->weight.size(1));
      // Glorot uniform; times 4 for sigmoid units (the paper's reference initialisation).
      const double bound = (p.activation == "sigmoid" ? 4.0 : 1.0) * std::sqrt(6.0 / fan);
      lin->weight.uniform_(-bound, bound);
      lin->bias.zero_();
    }
  }
  if ((p.skip || p.warm_start != "none") && p.d_prime > 0) {
    skip = torch::nn::Linear(torch::nn::LinearOptions(p.d_prime, 1).bias(false));
    skip->weight.zero_();  // starts as the paper's network (a warm start sets it to ones)
  }
  U = truncated_normal({users, p.d}, p.init_std);
  V = truncated_normal({items, p.d}, p.init_std);
  Up = truncated_normal({users, static_cast<int64_t>(p.d_prime) * p.k}, p.init_std);
  Vp = truncated_normal({items, static_cast<int64_t>(p.d_prime) * p.k}, p.init_std);
  bu = torch::zeros({users});
  bi = torch::zeros({items});
  mu = p.biases || p.standardize ? mean : 0.0;
  scale = scale_;
}

Member Member::clone() const {
  Member c;
  c.net = std::dynamic_pointer_cast<torch::nn::SequentialImpl>(net->clone());
  if (skip) c.skip = std::dynamic_pointer_cast<torch::nn::LinearImpl>(skip->clone());
  c.U = U.clone();
  c.Up = Up.clone();
  c.V = V.clone();
  c.Vp = Vp.clone();
  c.bu = bu.clone();
  c.bi = bi.clone();
  c.mu = mu;
  c.scale = scale;
  return c;
}

void Member::blend(const Member& x, double keep) {
  torch::NoGradGuard g;
  std::vector<torch::Tensor> a = latents(), b = x.latents();
  for (const torch::Tensor& w : weights()) a.push_back(w);
  for (const torch::Tensor& w : x.weights()) b.push_back(w);
  for (size_t k = 0; k < a.size(); ++k) a[k].mul_(keep).add_(b[k], 1 - keep);
}

std::vector<torch::Tensor> Member::weights() const {
  std::vector<torch::Tensor> w = net->parameters();
  if (skip) w.push_back(skip->weight);
  return w;
}

torch::Tensor predict_rows(const Member& m, const NnmfParams& p, const torch::Tensor& u, const torch::Tensor& up,
                           const torch::Tensor& v, const torch::Tensor& vp, const torch::Tensor& bu,
                           const torch::Tensor& bi) {
  const int64_t b = u.size(0);
  std::vector<torch::Tensor> parts;
  if (p.d > 0) {
    parts.push_back(u);
    parts.push_back(v);
  }
  if (p.d_prime > 0) parts.push_back((up * vp).view({b, p.d_prime, p.k}).sum(2));
  torch::Tensor y = m.net->forward(torch::cat(parts, 1)).squeeze(1);
  if (m.skip) y = y + m.skip->forward(parts.back()).squeeze(1);
  if (p.biases) y = y + bu + bi;
  return y * m.scale + m.mu;
}

}  // namespace nnmf

namespace {

using nnmf::Member;

// Runs f(true) for the users and f(false) for the items, one thread each: the two sides' latents
// and buffers are disjoint memory.
template <typename F>
void both_sides(F&& f) {
  at::parallel_for(0, 2, 1, [&](int64_t s0, int64_t s1) {
    for (int64_t s = s0; s < s1; ++s) f(s == 0);
  });
}

struct Data {
  torch::Tensor u, i, r;         // [n] long, long, float
  torch::Tensor n_user, n_item;  // ratings per row in the training data, float
};

Data to_tensors(const Interactions& m) {
  Coo c = m.to_coo();
  std::vector<int64_t> u(c.users.begin(), c.users.end()), i(c.items.begin(), c.items.end());
  Data d;
  d.u = torch::tensor(u, torch::kLong);
  d.i = torch::tensor(i, torch::kLong);
  d.r = torch::tensor(c.values, torch::kFloat);
  d.n_user = torch::bincount(d.u, {}, m.n_users()).to(torch::kFloat).clamp_min(1);
  d.n_item = torch::bincount(d.i, {}, m.n_items()).to(torch::kFloat).clamp_min(1);
  return d;
}

torch::Tensor predict_pairs(const Member& m, const NnmfParams& p, const torch::Tensor& u, const torch::Tensor& i) {
  return nnmf::predict_rows(m, p, m.U.index_select(0, u), m.Up.index_select(0, u), m.V.index_select(0, i),
                            m.Vp.index_select(0, i), m.bu.index_select(0, u), m.bi.index_select(0, i));
}

double rmse_of(const Member& m, const NnmfParams& p, const Data& d, float lo, float hi) {
  torch::NoGradGuard g;
  m.net->eval();
  double s = 0;
  const int64_t n = d.u.size(0), chunk = 1 << 16;
  for (int64_t b = 0; b < n; b += chunk) {
    const int64_t e = std::min(n, b + chunk);
    torch::Tensor y = predict_pairs(m, p, d.u.slice(0, b, e), d.i.slice(0, b, e));
    if (p.clip) y = y.clamp(lo, hi);
    s += (y - d.r.slice(0, b, e)).pow(2).sum().item<double>();
  }
  m.net->train();
  return std::sqrt(s / std::max<int64_t>(1, n));
}

std::unique_ptr<torch::optim::Optimizer> make_optimizer(const NnmfParams& p, const std::vector<torch::Tensor>& w) {
  if (p.optimizer == "adam") return std::make_unique<torch::optim::Adam>(w, torch::optim::AdamOptions(p.learning_rate));
  if (p.optimizer == "adamw")
    return std::make_unique<torch::optim::AdamW>(
        w, torch::optim::AdamWOptions(p.learning_rate).weight_decay(p.weight_decay));
  return std::make_unique<torch::optim::RMSprop>(w,
                                                 torch::optim::RMSpropOptions(p.learning_rate).alpha(0.9).eps(1e-10));
}

void set_lr(torch::optim::Optimizer& o, double lr) {
  for (auto& g : o.param_groups()) g.options().set_lr(lr);
}

// The standard deviation of the training ratings (1 when they are all equal).
double rating_sd(const Interactions& m) {
  const auto& v = m.by_user().values;
  const double mean = m.mean_value();
  double s = 0;
  for (float x : v) s += (x - mean) * (x - mean);
  const double sd = std::sqrt(s / std::max<size_t>(1, v.size()));
  return sd > 1e-6 ? sd : 1.0;
}

struct WarmStart {
  Factors f;
  double reg = 0;
};

// biased MF with `factors` factors on the same training part; with a validation part, early
// stopping and reg chosen on it among 0.01-0.16 times the rating sd (unless warm_reg is given).
WarmStart fit_warm_start(const Interactions& train, const Interactions* valid, const NnmfParams& p, int factors,
                         double sd, const FitOptions& opt) {
  const bool judged = valid && valid->nnz() > 0;
  std::vector<double> regs;
  if (p.warm_reg > 0)
    regs = {p.warm_reg};
  else if (judged)
    for (double r : {0.01, 0.02, 0.04, 0.08, 0.16}) regs.push_back(r * sd);
  else
    regs = {0.04 * sd};
  WarmStart best;
  double best_rmse = INFINITY;
  for (double reg : regs) {
    BiasedMf m;
    m.set_params({{"factors", factors},
                  {"reg", reg},
                  {"epochs", judged ? 100 : 20},
                  {"patience", judged ? 3 : 0},
                  {"biases", p.biases}});
    FitOptions o;
    o.ctx = opt.ctx;
    o.validation = judged ? valid : nullptr;
    m.fit(train, o);
    const double rmse = judged ? m.factors().rmse(*valid) : 0;
    if (rmse < best_rmse || regs.size() == 1) {
      best_rmse = rmse;
      best.f = m.factors();
      best.reg = reg;
    }
  }
  return best;
}

// Puts the warm start into a member: the product block holds the factors (in the network's unit,
// each side times 1/sqrt(scale)), the skip path their dot product, the output layer 0: the member
// predicts what biased MF predicts until the network learns otherwise.
void apply_warm_start(Member& m, const NnmfParams& p, const WarmStart& w) {
  torch::NoGradGuard g;
  const double s = 1 / std::sqrt(m.scale);
  const int64_t k = w.f.k;
  m.Up = torch::from_blob(const_cast<float*>(w.f.P.data()), {w.f.n_users(), k}, torch::kFloat).clone().mul_(s);
  m.Vp = torch::from_blob(const_cast<float*>(w.f.Q.data()), {w.f.n_items(), k}, torch::kFloat).clone().mul_(s);
  if (p.biases) {
    m.bu = torch::from_blob(const_cast<float*>(w.f.bu.data()), {w.f.n_users()}, torch::kFloat).clone().div_(m.scale);
    m.bi = torch::from_blob(const_cast<float*>(w.f.bi.data()), {w.f.n_items()}, torch::kFloat).clone().div_(m.scale);
  }
  m.mu = w.f.mu;  // biased MF adds its global mean with or without biases
  m.skip->weight.fill_(1);
  auto layers = nnmf::linear_layers(m);
  layers.back()->weight.zero_();
  layers.back()->bias.zero_();
}

}  // namespace

struct Nnmf::Impl {
  std::vector<Member> members;
  float lo = 0, hi = 0, mean = 0;
  double lambda = 0;  // the latent penalty used (lambda -1 resolved), for fold-in
  // blend: the prediction is weight * network + the partners' weights times theirs (the weights
  // sum to 1). A partner is a factor model: biased MF, or I-AutoRec in its factor form.
  struct Partner {
    std::string name;  // biased-mf | autorec
    Factors f;
    float reg = 0;  // the ridge penalty of its fold-in
    float weight = 0;
    double valid_rmse = 0;  // alone, on the part the weights were chosen on (reported by chosen())
  };
  float weight = 1;
  double valid_rmse = 0;  // the network alone, there
  std::string skipped;    // a partner left out, and why
  std::vector<Partner> partners;

  /// The members' mean prediction for known (user, item) index tensors, in the ratings' unit.
  torch::Tensor network(const NnmfParams& p, const torch::Tensor& u, const torch::Tensor& i) const {
    torch::Tensor sum = torch::zeros({u.size(0)});
    for (const auto& m : members) sum += predict_pairs(m, p, u, i);
    return sum / static_cast<double>(members.size());
  }
};

namespace {

// The convex combination of the predictors x[0..m) (weights >= 0 summing to 1) with the least
// squared error against r: every subset's equality-constrained least squares (the last weight
// is 1 minus the others), the best whose weights are all non-negative. m is small (at most 3).
std::vector<double> convex_blend(const std::vector<std::vector<float>>& x, const std::vector<float>& r) {
  const int m = static_cast<int>(x.size());
  std::vector<double> best(m, 0.0);
  best[0] = 1;
  double best_sse = INFINITY;
  for (int mask = 1; mask < (1 << m); ++mask) {
    std::vector<int> in;
    for (int k = 0; k < m; ++k)
      if (mask >> k & 1) in.push_back(k);
    const int last = in.back(), q = static_cast<int>(in.size()) - 1;
    // r - x_last = sum over the others of w_k (x_k - x_last)
    Eigen::MatrixXd a = Eigen::MatrixXd::Zero(q, q);
    Eigen::VectorXd b = Eigen::VectorXd::Zero(q);
    for (size_t e = 0; e < r.size(); ++e) {
      const double y = static_cast<double>(r[e]) - x[last][e];
      for (int j = 0; j < q; ++j) {
        const double dj = static_cast<double>(x[in[j]][e]) - x[last][e];
        b[j] += dj * y;
        for (int l = 0; l <= j; ++l) a(j, l) += dj * (static_cast<double>(x[in[l]][e]) - x[last][e]);
      }
    }
    a = a.selfadjointView<Eigen::Lower>();
    Eigen::VectorXd w = q > 0 ? Eigen::VectorXd(a.ldlt().solve(b)) : Eigen::VectorXd();
    std::vector<double> full(m, 0.0);
    double rest = 1;
    bool ok = w.allFinite();
    for (int j = 0; j < q && ok; ++j) {
      ok = w[j] >= 0;
      full[in[j]] = w[j];
      rest -= w[j];
    }
    if (!ok || rest < 0) continue;
    full[last] = rest;
    double sse = 0;
    for (size_t e = 0; e < r.size(); ++e) {
      double y = 0;
      for (int k = 0; k < m; ++k) y += full[k] * x[k][e];
      sse += (r[e] - y) * (r[e] - y);
    }
    if (sse < best_sse) best_sse = sse, best = full;
  }
  return best;
}

}  // namespace

Nnmf::Nnmf() = default;
Nnmf::~Nnmf() = default;

void Nnmf::do_fit(const Interactions& full_train, const FitOptions& opt) {
  const NnmfParams p = p_;
  configure_torch_threads(opt.ctx.threads);
  Interactions carved_train, carved_valid;
  const Interactions* train = &full_train;
  const Interactions* valid = opt.validation;
  const bool blend = p.blend != "none";
  if (!valid && (p.patience > 0 || blend) && p.valid_fraction > 0) {
    std::tie(carved_train, carved_valid) = carve_validation(full_train, p.valid_fraction, opt.ctx.seed + 17);
    train = &carved_train;
    valid = &carved_valid;
  }
  auto impl = std::make_unique<Impl>();
  const auto& vals = train->by_user().values;
  impl->lo = *std::min_element(vals.begin(), vals.end());
  impl->hi = *std::max_element(vals.begin(), vals.end());
  impl->mean = static_cast<float>(train->mean_value());
  Data d = to_tensors(*train);
  Data dv;
  if (valid && valid->nnz() > 0) dv = to_tensors(*valid);
  Data dm;  // the monitor (a time-to-quality curve), reported only
  if (opt.monitor && opt.monitor->nnz() > 0) dm = to_tensors(*opt.monitor);
  const int64_t n = d.u.size(0);
  const int64_t bs = p.batch_size == 0 ? n : std::min<int64_t>(p.batch_size, n);
  const double scale = p.standardize ? rating_sd(*train) : 1.0;
  WarmStart warm;
  if (p.warm_start == "biased-mf") warm = fit_warm_start(*train, valid, p, p.d_prime, scale, opt);
  // lambda -1: the warm start's per-rating reg in the network's unit (the same objective divided by scale^2).
  const double lambda = p.lambda < 0 ? warm.reg / scale : p.lambda;
  impl->lambda = lambda;

  for (int e = 0; e < p.ensemble; ++e) {
    Member m;
    m.init(p, train->n_users(), train->n_items(), impl->mean, opt.ctx.seed * 7919 + e, scale);
    if (p.warm_start == "biased-mf") apply_warm_start(m, p, warm);
    auto net_opt = make_optimizer(p, m.weights());
    const auto layers = nnmf::linear_layers(m);
    nnmf::LatentSide users({m.U, m.Up, p.biases ? m.bu : torch::Tensor()}, d.n_user, p.reg_exponent);
    nnmf::LatentSide items({m.V, m.Vp, p.biases ? m.bi : torch::Tensor()}, d.n_item, p.reg_exponent);
    int64_t t = 0;  // latent steps taken (Adam's bias correction)
    torch::Generator gen = at::detail::createCPUGenerator(opt.ctx.seed * 31 + e);
    double lr = p.learning_rate;
    Member best_member, avg;  // avg: the moving average (ema > 0)
    m.net->train();
    EpochHooks hooks;
    hooks.step = [&](int ep) {
      torch::Tensor perm = p.batch_size == 0 ? torch::Tensor() : torch::randperm(n, gen);
      double sse = 0;  // squared error seen by the network steps, before their update
      int64_t sse_count = 0, steps = 0;
      // One batch per epoch (the full batch, or a batch as large as the data): one network step,
      // then one latent step. Mini-batches alternate.
      const int64_t passes = bs >= n ? 2 : 1;
      for (int64_t pass = 0; pass < passes; ++pass) {
        for (int64_t b = 0; b < n; b += bs, ++steps) {
          const bool network_step = (steps % 2) == 0;
          const uint64_t step_seed = (opt.ctx.seed * 31 + e) * 1000003 + static_cast<uint64_t>(ep) * 4099 + steps;
          // A batch larger than kNnmfPassRows runs in pieces whose gradients add up before the one
          // step: the same step, with temporaries that stay small (an ML-1M full-batch epoch took 15 s
          // with one 450k-row pass per thread, 0.89 s in passes).
          const int64_t end = std::min(n, b + bs);
          std::vector<torch::Tensor> net_grads;
          for (int64_t lo = b, piece = 0; lo < end; lo += kNnmfPassRows, ++piece) {
            const int64_t hi = std::min(end, lo + kNnmfPassRows);
            torch::Tensor u, i, r;
            if (perm.defined()) {
              torch::Tensor idx = perm.slice(0, lo, hi);
              u = d.u.index_select(0, idx), i = d.i.index_select(0, idx), r = d.r.index_select(0, idx);
            } else {
              u = d.u.slice(0, lo, hi), i = d.i.slice(0, lo, hi), r = d.r.slice(0, lo, hi);
            }
            const uint64_t seed = step_seed + static_cast<uint64_t>(piece) * 0x9E3779B97F4A7C15ULL;
            nnmf::BatchGrads g = nnmf::backprop(m, p, u, i, r, network_step, !network_step, seed);
            if (network_step) {
              if (net_grads.empty())
                net_grads = std::move(g.weights);
              else
                for (size_t k = 0; k < net_grads.size(); ++k) net_grads[k] += g.weights[k];
              sse += g.sse;
              sse_count += u.size(0);
            } else {
              both_sides([&](bool user) {
                if (user)
                  users.add(u, {g.du, g.dup, g.dbias}, p, lambda);
                else
                  items.add(i, {g.dv, g.dvp, g.dbias}, p, lambda);
              });
            }
          }
          if (network_step) {
            for (size_t l = 0; l < layers.size(); ++l) {
              layers[l]->weight.mutable_grad() = net_grads[2 * l];
              layers[l]->bias.mutable_grad() = net_grads[2 * l + 1];
            }
            if (m.skip) m.skip->weight.mutable_grad() = net_grads.back();
            net_opt->step();
          } else {
            ++t;
            both_sides([&](bool user) { (user ? users : items).apply(p, lr, t); });
          }
        }
      }
      lr *= p.lr_decay;
      set_lr(*net_opt, lr);
      if (p.ema > 0) {
        if (!avg.net)
          avg = m.clone();
        else
          avg.blend(m, p.ema);
      }
      return m.scale * std::sqrt(sse / std::max<int64_t>(1, sse_count));  // in the ratings' unit, like validation
    };
    const Member& judged = p.ema > 0 ? avg : m;  // what validation sees and the model keeps
    if (dv.u.defined())
      hooks.valid = [&]() -> std::optional<double> { return rmse_of(judged, p, dv, impl->lo, impl->hi); };
    if (dm.u.defined())
      hooks.monitor = [&]() -> std::optional<double> { return rmse_of(judged, p, dm, impl->lo, impl->hi); };
    hooks.keep_best = [&] { best_member = judged.clone(); };
    hooks.judge_start = p.warm_start != "none";           // the warm start itself may be the best
    hooks.diverged_slack = 0.1 * scale;                   // a tenth of the ratings' sd
    if (hooks.judge_start && p.ema > 0) avg = m.clone();  // the average starts from the warm start
    hooks.restore_best = [&] { m = best_member; };
    run_epochs(type(), p.epochs, p.patience, opt, hooks);
    if (p.ema > 0 && !best_member.net) m = avg;  // no validation: the final average
    m.net->eval();
    impl->members.push_back(std::move(m));
  }
  const bool judged = valid && valid->nnz() > 0;
  if (blend && !judged)  // the network alone, said so
    impl->skipped =
        "blend left out: no validation part to choose its weights on (valid_fraction 0, or too few ratings)";
  if (blend && judged) {
    const bool with_mf = p.blend.find("biased-mf") != std::string::npos;
    const bool with_autorec = p.blend.find("autorec") != std::string::npos;
    if (with_mf) {
      WarmStart w = p.warm_start == "biased-mf" ? warm : fit_warm_start(*train, valid, p, p.blend_factors, scale, opt);
      impl->partners.push_back({"biased-mf", std::move(w.f), static_cast<float>(w.reg), 0});
    }
    // I-AutoRec's step is dense over users x items and its weights are 2 x hidden x users: past
    // these sizes (about 10x ML-1M) it would dominate the fit, so it is left out and reported.
    const double cells = static_cast<double>(train->n_users()) * train->n_items();
    const double weights = static_cast<double>(train->n_users()) * p.autorec_hidden;
    if (with_autorec && (cells > nnmf::kAutoRecMaxCells || weights > nnmf::kAutoRecMaxWeights))
      impl->skipped = "autorec left out: " + std::to_string(train->n_users()) + " users x " +
                      std::to_string(train->n_items()) + " items is past its dense step's limit";
    else if (with_autorec) {
      nnmf::AutoRecSettings s;
      s.hidden = p.autorec_hidden;
      s.lambda = p.autorec_lambda;
      // I-AutoRec works in the network's unit: ratings divided by their sd when standardize is on
      // (the default), as they are when it is off (the `accurate` preset, as measured).
      try {
        Factors f = nnmf::fit_autorec(*train, valid, scale, s, opt);
        // Its fold-in: the decoder's penalty, lambda/2 per rating of an average user.
        impl->partners.push_back({"autorec", std::move(f), static_cast<float>(s.lambda / 2), 0});
      } catch (const DivergedError& e) {  // the network and biased MF still blend
        impl->skipped = std::string("autorec left out: ") + e.what();
      }
    }
    Coo c = valid->to_coo();
    std::vector<std::vector<float>> x(1 + impl->partners.size(), std::vector<float>(c.values.size()));
    {
      torch::NoGradGuard g;
      std::vector<int64_t> u(c.users.begin(), c.users.end()), i(c.items.begin(), c.items.end());
      torch::Tensor y = impl->network(p, torch::tensor(u, torch::kLong), torch::tensor(i, torch::kLong)).contiguous();
      std::copy_n(y.data_ptr<float>(), c.values.size(), x[0].data());
    }
    for (size_t k = 0; k < impl->partners.size(); ++k)
      impl->partners[k].f.predict(c.users.data(), c.items.data(), c.values.size(), x[k + 1].data());
    impl->valid_rmse = rmse(x[0], c.values);
    for (size_t k = 0; k < impl->partners.size(); ++k) impl->partners[k].valid_rmse = rmse(x[k + 1], c.values);
    const std::vector<double> w = convex_blend(x, c.values);
    impl->weight = static_cast<float>(w[0]);
    for (size_t k = 0; k < impl->partners.size(); ++k) impl->partners[k].weight = static_cast<float>(w[k + 1]);
  }
  impl_ = std::move(impl);
}

nlohmann::json Nnmf::chosen() const {
  nlohmann::json j = nlohmann::json::object();
  if (!impl_) return j;
  j["lambda"] = impl_->lambda;
  if (p_.blend != "none") {
    j["blend"] = {{"network_weight", impl_->weight}, {"network_valid_rmse", impl_->valid_rmse}};
    if (!impl_->skipped.empty()) j["blend"]["skipped"] = impl_->skipped;
    for (const auto& q : impl_->partners) {
      j["blend"][q.name + "_weight"] = q.weight;
      j["blend"][q.name + "_valid_rmse"] = q.valid_rmse;
      if (q.name == "biased-mf") j["blend"]["biased_mf_reg"] = q.reg;
    }
  }
  return j;
}

void Nnmf::predict(const int32_t* users, const int32_t* items, size_t n, float* out) const {
  if (!impl_) throw Error("nnmf: not fitted");
  torch::NoGradGuard g;
  const auto& p = p_;
  PairTensors pairs(users, items, n, n_users(), n_items());
  const auto& known = pairs.known;
  torch::Tensor net = impl_->network(p, pairs.u, pairs.i).contiguous();
  const float* y = net.data_ptr<float>();
  const float w = impl_->weight;
  std::vector<float> mix(n, 0.0f), one(n);
  float partner_weight = 0;  // the partners answer unknown ids by their biases
  for (const auto& q : impl_->partners) {
    q.f.predict(users, items, n, one.data());
    for (size_t k = 0; k < n; ++k) mix[k] += q.weight * one[k];
    partner_weight += q.weight;
  }
  for (size_t k = 0; k < n; ++k) {
    float v = known[k] ? y[k] : impl_->mean;
    if (!impl_->partners.empty() && (known[k] || partner_weight > 0))
      v = known[k] ? w * v + mix[k] : mix[k] / partner_weight;
    out[k] = p.clip ? std::clamp(v, impl_->lo, impl_->hi) : v;
  }
}

void Nnmf::score_new_user(const std::vector<int32_t>& items, const std::vector<float>& values, float* out) const {
  if (!impl_) throw Error("nnmf: not fitted");
  if (items.empty() || items.size() != values.size()) throw Error("nnmf: fold-in needs items with values");
  const auto& p = p_;
  std::vector<int64_t> is(items.begin(), items.end());
  for (int64_t i : is)
    if (i < 0 || i >= n_items()) throw NotFoundError("nnmf: fold-in item index out of range");
  torch::Tensor it = torch::tensor(is, torch::kLong), r = torch::tensor(values, torch::kFloat);
  torch::Tensor all = torch::arange(n_items(), torch::kLong);
  torch::Tensor sum = torch::zeros({n_items()});
  for (const auto& m : impl_->members) {
    // New row latents, optimised with the network and the item latents fixed.
    torch::Tensor u = torch::zeros({1, p.d}, torch::requires_grad()), up = torch::zeros({1, p.d_prime * p.k});
    torch::Tensor b = torch::zeros({1});
    torch::Generator gen = at::detail::createCPUGenerator(12345);  // the same answer for the same request
    up.normal_(0, p.init_std, gen);
    up.requires_grad_(true);
    b.requires_grad_(true);
    torch::optim::Adam adam(std::vector<torch::Tensor>{u, up, b}, torch::optim::AdamOptions(0.02));
    const int64_t n = it.size(0);
    const double weight = std::pow(static_cast<double>(n), p.reg_exponent);  // the training objective's row penalty
    for (int step = 0; step < 300; ++step) {
      torch::Tensor y =
          nnmf::predict_rows(m, p, u.expand({n, p.d}), up.expand({n, p.d_prime * p.k}), m.V.index_select(0, it),
                             m.Vp.index_select(0, it), b.expand({n}), m.bi.index_select(0, it));
      torch::Tensor loss =
          ((r - y) / m.scale).pow(2).sum() +
          weight * (impl_->lambda * (u.pow(2).sum() + up.pow(2).sum()) + p.bias_lambda * b.pow(2).sum());
      adam.zero_grad();
      loss.backward();
      if (!p.biases) b.grad().zero_();
      adam.step();
    }
    torch::NoGradGuard g;
    const int64_t ni = n_items();
    sum += nnmf::predict_rows(m, p, u.expand({ni, p.d}), up.expand({ni, p.d_prime * p.k}), m.V, m.Vp, b.expand({ni}),
                              m.bi);
  }
  sum = (sum / static_cast<double>(impl_->members.size())).contiguous();
  const float* y = sum.data_ptr<float>();
  std::vector<float> v(y, y + n_items()), one(n_items());
  if (!impl_->partners.empty()) {
    for (auto& x : v) x *= impl_->weight;
    for (const auto& q : impl_->partners) {
      q.f.score_new_user(items, values, q.reg, one.data());
      for (int32_t i = 0; i < n_items(); ++i) v[i] += q.weight * one[i];
    }
  }
  for (int32_t i = 0; i < n_items(); ++i) out[i] = p.clip ? std::clamp(v[i], impl_->lo, impl_->hi) : v[i];
}

void Nnmf::save_tensors(TensorMap& out) const {
  out["range"] = Tensor::f32({impl_->lo, impl_->hi, impl_->mean});
  out["lambda"] = Tensor::f32({static_cast<float>(impl_->lambda)});
  // Partners: biased MF under "blend.", I-AutoRec under "blend.autorec.", each with its fold-in
  // reg; blend.weights holds every weight. (Files written before I-AutoRec hold blend.weight
  // instead: read below. A binary of that time reads a new file as the network alone.)
  if (!impl_->partners.empty()) {
    std::vector<float> ws = {impl_->weight};
    for (const auto& q : impl_->partners) {
      ws.push_back(q.weight);
      const std::string pre = q.name == "biased-mf" ? "blend." : "blend.autorec.";
      q.f.save(out, pre);
      out[pre + "reg"] = Tensor::f32({q.reg});
    }
    out["blend.weights"] = Tensor::f32(ws);
  }
  for (size_t e = 0; e < impl_->members.size(); ++e) {
    const Member& m = impl_->members[e];
    const std::string pre = "m" + std::to_string(e) + ".";
    save_module(*m.net, pre + "net.", out);
    if (m.skip) save_module(*m.skip, pre + "skip.", out);
    const char* names[] = {"U", "Up", "V", "Vp", "bu", "bi"};
    auto lat = m.latents();
    for (int k = 0; k < 6; ++k) {
      torch::Tensor c = lat[k].contiguous();
      std::vector<int64_t> shape(c.sizes().begin(), c.sizes().end());
      out[pre + names[k]] =
          Tensor::f32(std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel()), shape);
    }
    out[pre + "mu"] = Tensor::f32({static_cast<float>(m.mu)});
    out[pre + "scale"] = Tensor::f32({static_cast<float>(m.scale)});
  }
}

void Nnmf::load_tensors(const TensorMap& in) {
  auto impl = std::make_unique<Impl>();
  auto range = require_tensor(in, "range", DType::kF32, 3).as_f32();
  impl->lo = range[0];
  impl->hi = range[1];
  impl->mean = range[2];
  const auto& p = p_;
  impl->lambda =
      in.count("lambda") ? require_tensor(in, "lambda", DType::kF32, 1).as_f32()[0] : std::max(0.0, p.lambda);
  auto weight = [](float w) {
    if (!(w >= 0 && w <= 1)) throw Error("model file: nnmf blend weight outside [0, 1]");
    return w;
  };
  auto reg = [&](const std::string& name) {
    const float r = require_tensor(in, name, DType::kF32, 1).as_f32()[0];
    if (!std::isfinite(r) || r < 0) throw Error("model file: '" + name + "' is not a finite non-negative number");
    return r;
  };
  auto partner = [&](const std::string& name, const std::string& pre, float w, float r) {
    Impl::Partner q{name, Factors(), r, weight(w)};
    q.f.load(in, n_users(), n_items(), pre);
    q.f.clip = true;  // as fitted, and as the weights were chosen
    impl->partners.push_back(std::move(q));
  };
  if (in.count("blend.weights")) {
    const bool mf = in.count("blend.mu") > 0, ar = in.count("blend.autorec.mu") > 0;
    auto w = require_tensor(in, "blend.weights", DType::kF32, 1 + mf + ar).as_f32();
    impl->weight = weight(w[0]);
    if (mf) partner("biased-mf", "blend.", w[1], reg("blend.reg"));
    if (ar) partner("autorec", "blend.autorec.", w[1 + mf], reg("blend.autorec.reg"));
  } else if (in.count("blend.weight")) {  // files with biased MF alone: [network weight, its reg]
    auto w = require_tensor(in, "blend.weight", DType::kF32, 2).as_f32();
    if (!std::isfinite(w[1])) throw Error("model file: nnmf blend reg is not finite");
    impl->weight = weight(w[0]);
    partner("biased-mf", "blend.", 1 - w[0], w[1]);
  }
  for (int e = 0; e < p.ensemble; ++e) {
    Member m;
    m.init(p, n_users(), n_items(), 0.0, 1);
    const std::string pre = "m" + std::to_string(e) + ".";
    load_module(*m.net, pre + "net.", in);
    if (m.skip) load_module(*m.skip, pre + "skip.", in);
    torch::Tensor* lat[] = {&m.U, &m.Up, &m.V, &m.Vp, &m.bu, &m.bi};
    const char* names[] = {"U", "Up", "V", "Vp", "bu", "bi"};
    for (int k = 0; k < 6; ++k) {
      std::vector<float> v = require_tensor(in, pre + names[k], DType::kF32, lat[k]->numel()).as_f32();
      for (float f : v)
        if (!std::isfinite(f)) throw Error("model file: nnmf latents hold NaN or infinity");
      *lat[k] = torch::from_blob(v.data(), lat[k]->sizes(), torch::kFloat).clone();
    }
    m.mu = require_tensor(in, pre + "mu", DType::kF32, 1).as_f32()[0];
    // Files written before the offset and scale were stored added mu only with biases.
    if (in.count(pre + "scale"))
      m.scale = require_tensor(in, pre + "scale", DType::kF32, 1).as_f32()[0];
    else if (!p.biases)
      m.mu = 0;
    if (!std::isfinite(m.mu) || !std::isfinite(m.scale) || m.scale <= 0)
      throw Error("model file: nnmf offset or scale is not a finite positive number");
    m.net->eval();
    impl->members.push_back(std::move(m));
  }
  impl_ = std::move(impl);
}

}  // namespace mfkit
