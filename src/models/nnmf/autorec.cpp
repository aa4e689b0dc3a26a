#include "models/nnmf/autorec.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "models/epochs.h"
#include "torch/torch_util.h"

namespace mfkit::nnmf {

namespace {

// Items `idx` as dense rows over every user. The input x holds rating / sd, 0 where unobserved,
// so that an unobserved entry differs from a rating at the mean (the input's offset is what makes
// the difference: 0.8439 against 0.8580 validation RMSE on ML-1M with standardised inputs, in a
// Python prototype of this step); the target y the standardised rating; the mask which entries
// are observed.
struct Rows {
  torch::Tensor x, y, mask;
  Rows(int64_t batch, int64_t users)
      : x(torch::zeros({batch, users})), y(torch::zeros({batch, users})), mask(torch::zeros({batch, users})) {}
  void fill(const Csr& by_item, const int64_t* idx, int64_t n, float mean, float inv_sd) {
    const int64_t users = x.size(1);
    for (torch::Tensor* t : {&x, &y, &mask}) t->slice(0, 0, n).zero_();
    float *xp = x.data_ptr<float>(), *yp = y.data_ptr<float>(), *mp = mask.data_ptr<float>();
    for (int64_t r = 0; r < n; ++r) {
      const int32_t i = static_cast<int32_t>(idx[r]);
      for (int64_t e = by_item.indptr[i]; e < by_item.indptr[i + 1]; ++e) {
        const int64_t at = r * users + by_item.indices[e];
        xp[at] = by_item.values[e] * inv_sd;
        yp[at] = (by_item.values[e] - mean) * inv_sd;
        mp[at] = 1;
      }
    }
  }
};

}  // namespace

Factors fit_autorec(const Interactions& train, const Interactions* valid, double sd, const AutoRecSettings& s,
                    const FitOptions& opt) {
  const int64_t users = train.n_users(), items = train.n_items();
  const Csr& by_item = train.by_item();
  const float mean = static_cast<float>(train.mean_value()), inv_sd = static_cast<float>(1 / sd);
  torch::manual_seed(opt.ctx.seed * 104729 + 3);
  torch::nn::Linear enc(users, s.hidden), dec(s.hidden, users);
  auto weights = enc->parameters();
  for (auto& w : dec->parameters()) weights.push_back(w);
  torch::optim::Adam adam(weights, torch::optim::AdamOptions(s.learning_rate));
  torch::Generator gen = at::detail::createCPUGenerator(opt.ctx.seed * 131 + 7);
  const int64_t batch = std::max<int64_t>(1, std::min<int64_t>(s.batch, items));
  Rows rows(batch, users);
  // The penalty per rating of an average user, so that one setting carries over between datasets.
  const double lambda = s.lambda * static_cast<double>(train.nnz()) / std::max(1, train.n_users());

  Factors f;
  f.init(train, s.hidden, 0.01, 0, true);  // sizes, mean and rating range; the values come from the net
  // The factor form of the current network: item codes, decoder rows and biases in the ratings' unit.
  auto export_factors = [&] {
    torch::NoGradGuard g;
    std::vector<int64_t> all(static_cast<size_t>(batch));
    for (int64_t b = 0; b < items; b += batch) {
      const int64_t n = std::min(batch, items - b);
      std::iota(all.begin(), all.begin() + n, b);
      rows.fill(by_item, all.data(), n, mean, inv_sd);
      torch::Tensor h = torch::sigmoid(enc(rows.x.slice(0, 0, n))).contiguous();
      std::copy_n(h.data_ptr<float>(), n * s.hidden, f.Q.data() + b * s.hidden);
    }
    torch::Tensor p = (dec->weight * sd).contiguous(), c = (dec->bias * sd).contiguous();
    std::copy_n(p.data_ptr<float>(), users * s.hidden, f.P.data());
    std::copy_n(c.data_ptr<float>(), users, f.bu.data());
    std::fill(f.bi.begin(), f.bi.end(), 0.0f);
    f.mu = mean;
  };

  auto step = [&](int) {
    torch::Tensor perm = torch::randperm(items, gen);
    const int64_t* order = perm.data_ptr<int64_t>();
    double sse = 0;
    for (int64_t b = 0; b < items; b += batch) {
      const int64_t n = std::min(batch, items - b);
      rows.fill(by_item, order + b, n, mean, inv_sd);
      torch::Tensor mb = rows.mask.slice(0, 0, n);
      torch::Tensor err = (dec(torch::sigmoid(enc(rows.x.slice(0, 0, n)))) - rows.y.slice(0, 0, n)) * mb;
      torch::Tensor fit = err.pow(2).sum();
      const double share = static_cast<double>(n) / static_cast<double>(items);
      torch::Tensor loss = fit + share * lambda / 2 * (enc->weight.pow(2).sum() + dec->weight.pow(2).sum());
      adam.zero_grad();
      loss.backward();
      adam.step();
      sse += fit.item<double>();
    }
    export_factors();
    return sd * std::sqrt(sse / static_cast<double>(std::max<int64_t>(1, train.nnz())));  // each rating once an epoch
  };
  FitOptions o;
  o.ctx = opt.ctx;
  o.validation = valid && valid->nnz() > 0 ? valid : nullptr;
  run_epochs("nnmf (autorec partner)", s.epochs, o.validation ? s.patience : 0, &f, o, step);
  return f;
}

}  // namespace mfkit::nnmf
