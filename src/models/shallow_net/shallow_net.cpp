#include "mfkit/models/shallow_net.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <numeric>
#include <random>

#include "mfkit/error.h"
#include "mfkit/model_file.h"
#include "models/epochs.h"
#include "models/shallow_net/shallow_net_model.h"
#include "torch/torch_util.h"

namespace mfkit {

namespace {

struct NetImpl : torch::nn::Module {
  int arch;
  torch::nn::Embedding U{nullptr}, V{nullptr}, bu{nullptr}, bi{nullptr}, words{nullptr}, cats{nullptr};
  torch::nn::Linear d1{nullptr}, d2{nullptr}, d3{nullptr}, out{nullptr}, title_out{nullptr}, cat_out{nullptr},
      combine{nullptr};
  torch::nn::BatchNorm1d b1{nullptr}, b2{nullptr}, b3{nullptr};
  torch::nn::Dropout drop{nullptr};
  torch::nn::LSTM lstm{nullptr};

  NetImpl(const ShallowNetParams& p, int64_t nu, int64_t ni, int64_t vocab, int64_t ncat) : arch(p.architecture) {
    const int64_t f = p.factors;
    U = register_module("U", torch::nn::Embedding(nu, f));
    V = register_module("V", torch::nn::Embedding(ni, f));
    {
      torch::NoGradGuard g;  // Keras' default embedding initialiser: uniform(-0.05, 0.05)
      U->weight.uniform_(-0.05, 0.05);
      V->weight.uniform_(-0.05, 0.05);
    }
    if (arch >= 2) {
      bu = register_module("bu", torch::nn::Embedding(nu, 1));
      bi = register_module("bi", torch::nn::Embedding(ni, 1));
      torch::NoGradGuard g;
      bu->weight.zero_();
      bi->weight.zero_();
    }
    if (arch == 3) {
      d1 = register_module("d1", torch::nn::Linear(2 * f, p.hidden));
      drop = register_module("drop", torch::nn::Dropout(p.dropout));
      b1 = register_module("b1", torch::nn::BatchNorm1d(p.hidden));
      d2 = register_module("d2", torch::nn::Linear(p.hidden, p.hidden));
      b2 = register_module("b2", torch::nn::BatchNorm1d(p.hidden));
      d3 = register_module("d3", torch::nn::Linear(p.hidden, p.hidden));
      b3 = register_module("b3", torch::nn::BatchNorm1d(p.hidden));
      out = register_module("out", torch::nn::Linear(p.hidden, 1));
    }
    if (arch >= 4) {
      words =
          register_module("words", torch::nn::Embedding(torch::nn::EmbeddingOptions(vocab, p.text_dim).padding_idx(0)));
      {
        torch::NoGradGuard g;
        words->weight.uniform_(-0.05, 0.05);
        words->weight[0].zero_();
      }
      lstm = register_module("lstm", torch::nn::LSTM(torch::nn::LSTMOptions(p.text_dim, p.text_dim).batch_first(true)));
      title_out = register_module("title_out", torch::nn::Linear(p.text_dim, 1));
      combine = register_module("combine", torch::nn::Linear(arch == 5 ? 3 : 2, 1));
    }
    if (arch == 5) {
      cats = register_module("cats", torch::nn::Embedding(ncat, f));
      torch::NoGradGuard g;
      cats->weight.uniform_(-0.05, 0.05);
      cat_out = register_module("cat_out", torch::nn::Linear(f, 1));
    }
  }

  // titles: [B, L] token ids, categories: [B] (only read by architectures 4-5).
  torch::Tensor forward(const torch::Tensor& u, const torch::Tensor& i, const torch::Tensor& titles,
                        const torch::Tensor& categories) {
    torch::Tensor eu = U(u), ei = V(i);
    torch::Tensor bias;
    if (arch >= 2) bias = bu(u).squeeze(1) + bi(i).squeeze(1);
    if (arch == 1) return (eu * ei).sum(1);
    if (arch == 3) {
      torch::Tensor h = b1(drop(torch::relu(d1(torch::cat({eu, ei}, 1)))));
      h = b2(torch::relu(d2(h)));
      h = b3(torch::relu(d3(h)));
      return out(h).squeeze(1) + bias;
    }
    torch::Tensor s = (eu * ei).sum(1) + bias;
    if (arch == 2) return s;
    return combine(torch::cat({s.unsqueeze(1), side(titles, categories)}, 1)).squeeze(1);
  }

  // The item-only scalars of architectures 4-5: [B, 1] (title) or [B, 2] (title, category).
  torch::Tensor side(const torch::Tensor& titles, const torch::Tensor& categories) {
    auto lstm_out = lstm(words(titles));
    torch::Tensor last = std::get<0>(std::get<1>(lstm_out)).squeeze(0);  // h_n: [B, H]
    std::vector<torch::Tensor> parts = {torch::relu(title_out(last))};
    if (arch == 5) parts.push_back(torch::relu(cat_out(cats(categories))));
    return torch::cat(parts, 1);
  }

  // Inference with the item-only scalars computed once per item (`item_side`: [items, 1 or 2]).
  torch::Tensor forward_cached(const torch::Tensor& u, const torch::Tensor& i, const torch::Tensor& item_side) {
    torch::Tensor s = (U(u) * V(i)).sum(1) + bu(u).squeeze(1) + bi(i).squeeze(1);
    return combine(torch::cat({s.unsqueeze(1), item_side.index_select(0, i)}, 1)).squeeze(1);
  }

  torch::Tensor penalty() { return U->weight.pow(2).sum() + V->weight.pow(2).sum(); }
};
TORCH_MODULE(Net);

// Lower-case words of letters and digits (bytes >= 0x80 count as letters, so UTF-8 words stay whole).
std::vector<std::string> tokenize(const std::string& s) {
  std::vector<std::string> out;
  std::string cur;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c >= 0x80) {
      cur.push_back(static_cast<char>(std::tolower(c)));
    } else if (!cur.empty()) {
      out.push_back(cur);
      cur.clear();
    }
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}

}  // namespace

struct ShallowNet::Impl {
  Net net{nullptr};
  std::vector<std::string> vocab;       // index 0 = padding, 1 = unknown word
  std::vector<std::string> categories;  // index 0 = unknown category
  torch::Tensor titles;                 // [n_items, L] int64 token ids, pre-padded
  torch::Tensor item_cats;              // [n_items] int64
  torch::Tensor item_side;              // after training: the item-only scalars (architectures 4-5)

  // Call after training or loading, in eval mode: the title LSTM runs once per item, not per pair.
  void cache_item_side() {
    torch::NoGradGuard g;
    if (net->arch >= 4) item_side = net->side(titles, item_cats);
  }

  torch::Tensor forward(const torch::Tensor& u, const torch::Tensor& i) {
    if (item_side.defined()) return net->forward_cached(u, i, item_side);
    torch::Tensor t, c;
    if (net->arch >= 4) {
      t = titles.index_select(0, i);
      c = item_cats.index_select(0, i);
    }
    return net->forward(u, i, t, c);
  }
};

ShallowNet::ShallowNet() = default;
ShallowNet::~ShallowNet() = default;

// One optimiser step on `loss`; returns its value.
static double adam_step(torch::optim::Adam& adam, const torch::Tensor& loss) {
  adam.zero_grad();
  loss.backward();
  adam.step();
  return loss.item<double>();
}

// One epoch of a ranking loss: every observed cell once, in random order, each against
// `negatives` unseen items drawn uniformly. Returns the mean batch loss.
static double ranking_epoch(ShallowNet::Impl& impl, const ShallowNetParams& p, const Csr& c, int32_t ni,
                            torch::optim::Adam& adam, std::mt19937_64& rng) {
  const int64_t nnz = static_cast<int64_t>(c.indices.size()), K = p.negatives;
  std::vector<int64_t> order(nnz), row_of(nnz);
  std::iota(order.begin(), order.end(), 0);
  std::shuffle(order.begin(), order.end(), rng);
  for (int32_t u = 0; u < c.rows(); ++u) std::fill(row_of.begin() + c.indptr[u], row_of.begin() + c.indptr[u + 1], u);
  double total = 0;
  int64_t batches = 0;
  std::vector<int64_t> us, is, js;
  for (int64_t b = 0; b < nnz; b += p.batch_size) {
    const int64_t e = std::min<int64_t>(nnz, b + p.batch_size), B = e - b;
    us.clear(), is.clear(), js.clear();
    for (int64_t k = b; k < e; ++k) {
      const int64_t entry = order[k], u = row_of[entry];
      const int32_t* seen = c.indices.data() + c.indptr[u];
      const int64_t n = c.row_size(static_cast<int32_t>(u));
      us.push_back(u);
      is.push_back(c.indices[entry]);
      for (int64_t t = 0; t < K; ++t) {
        int32_t j = static_cast<int32_t>(rng() % ni);
        for (int tries = 0; tries < 10 && std::binary_search(seen, seen + n, j); ++tries)
          j = static_cast<int32_t>(rng() % ni);
        js.push_back(j);
      }
    }
    // Positives and negatives in one forward pass, so that batch normalisation (architecture 3)
    // sees them together, as it will at scoring time.
    torch::Tensor u = torch::from_blob(us.data(), {B}, torch::kLong);
    torch::Tensor items = torch::cat(
        {torch::from_blob(is.data(), {B}, torch::kLong), torch::from_blob(js.data(), {B * K}, torch::kLong)});
    torch::Tensor y = impl.forward(torch::cat({u, u.repeat_interleave(K)}), items);
    torch::Tensor yi = y.slice(0, 0, B), yj = y.slice(0, B).view({B, K});
    torch::Tensor gap = yi.unsqueeze(1) - yj;  // B x K
    torch::Tensor loss;
    if (p.loss == "bpr") {
      loss = torch::softplus(-gap).mean();
    } else {  // warp: the first violator of each row, weighted by the estimated rank
      torch::Tensor viol = (1.0 - gap).gt(0).detach();
      torch::Tensor first = viol.to(torch::kFloat).argmax(1, true);  // index of the first true (0 when none)
      torch::Tensor has = viol.any(1).to(torch::kFloat);
      torch::Tensor draws = first.squeeze(1).to(torch::kFloat) + 1.0;
      torch::Tensor w = torch::log(torch::clamp_min(torch::floor((ni - 1) / draws), 1.0)) * has;
      loss = (w * (1.0 - gap.gather(1, first).squeeze(1))).mean();
    }
    total += adam_step(adam, loss + p.reg * impl.net->penalty());
    ++batches;
  }
  return total / std::max<int64_t>(1, batches);
}

void ShallowNet::do_fit(const Interactions& train, const FitOptions& opt) {
  const auto& p = p_;
  torch::manual_seed(opt.ctx.seed);
  configure_torch_threads(opt.ctx.threads);
  const int32_t nu = train.n_users(), ni = train.n_items();
  auto impl = std::make_unique<Impl>();
  // Side features.
  const Labels* l = opt.labels;
  if (p.architecture >= 4 && (!l || l->item_titles.empty()))
    throw Error("shallow-net: architecture " + std::to_string(p.architecture) +
                " needs item titles (a dataset with side data, such as spotify-charts)");
  if (p.architecture == 5 && l->item_categories.empty())
    throw Error("shallow-net: architecture 5 needs item categories (artists)");
  impl->vocab = {"<pad>", "<unk>"};
  impl->categories = {"<unknown>"};
  impl->titles = torch::zeros({ni, p.title_length}, torch::kLong);
  impl->item_cats = torch::zeros({ni}, torch::kLong);
  if (p.architecture >= 4) {
    std::map<std::string, int64_t> freq;
    std::vector<std::vector<std::string>> toks(ni);
    for (int32_t i = 0; i < ni; ++i) {
      toks[i] = tokenize(l->item_titles[i]);
      for (auto& w : toks[i]) freq[w]++;
    }
    std::vector<std::pair<int64_t, std::string>> by_freq;
    for (auto& [w, n] : freq) by_freq.push_back({-n, w});
    std::sort(by_freq.begin(), by_freq.end());
    std::map<std::string, int64_t> index;
    for (size_t k = 0; k < by_freq.size() && static_cast<int>(impl->vocab.size()) < p.vocabulary + 2; ++k) {
      index[by_freq[k].second] = static_cast<int64_t>(impl->vocab.size());
      impl->vocab.push_back(by_freq[k].second);
    }
    auto acc = impl->titles.accessor<int64_t, 2>();
    for (int32_t i = 0; i < ni; ++i) {
      const auto& t = toks[i];
      const size_t n = std::min<size_t>(t.size(), p.title_length);
      for (size_t k = 0; k < n; ++k) {  // pre-padding: the last tokens sit at the end
        auto it = index.find(t[k]);
        acc[i][p.title_length - n + k] = it == index.end() ? 1 : it->second;
      }
    }
    if (p.architecture == 5) {
      std::map<std::string, int64_t> cat_index;
      auto ca = impl->item_cats.accessor<int64_t, 1>();
      for (int32_t i = 0; i < ni; ++i) {
        const std::string& c = l->item_categories[i];
        if (c.empty()) continue;
        auto [it, fresh] = cat_index.try_emplace(c, static_cast<int64_t>(impl->categories.size()));
        if (fresh) impl->categories.push_back(c);
        ca[i] = it->second;
      }
    }
  }
  impl->net = Net(p, nu, ni, static_cast<int64_t>(impl->vocab.size()), static_cast<int64_t>(impl->categories.size()));
  impl->net->train();

  // Training cells: the scaled value of every observed cell, then either the full grid or the
  // observed cells plus sampled unobserved ones.
  const Csr& c = train.by_user();
  auto scaled = [&](float r) { return p.scaling == "log" ? static_cast<float>(std::log1p(r / p.epsilon)) : r; };
  const int64_t grid = static_cast<int64_t>(nu) * ni;
  const bool pointwise = p.loss == "pointwise";  // ranking losses train on observed cells only
  if (pointwise && p.cells == "grid" && grid > 200'000'000)
    throw ParamError("shallow-net: the grid has " + std::to_string(grid) + " cells; use cells=sampled");
  std::vector<float> dense;
  if (pointwise && p.cells == "grid") {
    dense.assign(grid, 0.0f);
    for (int32_t u = 0; u < nu; ++u)
      for (int64_t e = c.indptr[u]; e < c.indptr[u + 1]; ++e)
        dense[static_cast<int64_t>(u) * ni + c.indices[e]] = scaled(c.values[e]);
  }
  std::mt19937_64 rng(opt.ctx.seed);
  torch::optim::Adam adam(impl->net->parameters(), torch::optim::AdamOptions(p.learning_rate));
  // Ranking losses: observed cells against sampled negatives; pointwise: the post's objective.
  std::function<double(int)> step = [&](int) { return ranking_epoch(*impl, p, c, ni, adam, rng); };
  if (pointwise)
    step = [&](int) {
      std::vector<int64_t> us, is;
      std::vector<float> rs;
      if (p.cells == "grid") {
        std::vector<int64_t> order(grid);
        std::iota(order.begin(), order.end(), 0);
        std::shuffle(order.begin(), order.end(), rng);
        us.reserve(grid);
        is.reserve(grid);
        rs.reserve(grid);
        for (int64_t cell : order) {
          us.push_back(cell / ni);
          is.push_back(cell % ni);
          rs.push_back(dense[cell]);
        }
      } else {
        for (int32_t u = 0; u < nu; ++u) {
          const int32_t* seen = c.indices.data() + c.indptr[u];
          const int64_t n = c.row_size(u);
          for (int64_t e = 0; e < n; ++e) {
            us.push_back(u);
            is.push_back(seen[e]);
            rs.push_back(scaled(c.values[c.indptr[u] + e]));
            for (int k = 0; k < p.negatives && n < ni; ++k) {
              int32_t j;
              do j = static_cast<int32_t>(rng() % ni);
              while (std::binary_search(seen, seen + n, j));
              us.push_back(u);
              is.push_back(j);
              rs.push_back(0.0f);
            }
          }
        }
        std::vector<size_t> perm(us.size());
        std::iota(perm.begin(), perm.end(), 0);
        std::shuffle(perm.begin(), perm.end(), rng);
        auto permute = [&](auto& v) {
          auto copy = v;
          for (size_t k = 0; k < perm.size(); ++k) v[k] = copy[perm[k]];
        };
        permute(us);
        permute(is);
        permute(rs);
      }
      const int64_t n = static_cast<int64_t>(us.size());
      torch::Tensor U = torch::from_blob(us.data(), {n}, torch::kLong);
      torch::Tensor I = torch::from_blob(is.data(), {n}, torch::kLong);
      torch::Tensor R = torch::from_blob(rs.data(), {n}, torch::kFloat);
      double total = 0;
      int64_t batches = 0;
      for (int64_t b = 0; b < n; b += p.batch_size) {
        const int64_t e = std::min<int64_t>(n, b + p.batch_size);
        torch::Tensor u = U.slice(0, b, e), i = I.slice(0, b, e), r = R.slice(0, b, e);
        torch::Tensor pref = (r > 0).to(torch::kFloat);
        torch::Tensor conf = 1.0 + p.alpha * r;
        torch::Tensor y = impl->forward(u, i);
        total += adam_step(adam, (conf * (pref - y).pow(2)).mean() + p.reg * impl->net->penalty());
        ++batches;
      }
      return total / std::max<int64_t>(1, batches);
    };
  run_epochs(type(), p.epochs, 0, nullptr, opt, step);
  impl->net->eval();
  impl->cache_item_side();
  impl_ = std::move(impl);
}

void ShallowNet::predict(const int32_t* users, const int32_t* items, size_t n, float* out) const {
  if (!impl_) throw Error("shallow-net: not fitted");
  torch::NoGradGuard g;
  PairTensors pairs(users, items, n, n_users(), n_items());
  torch::Tensor y = impl_->forward(pairs.u, pairs.i).contiguous();
  const float* py = y.data_ptr<float>();
  for (size_t k = 0; k < n; ++k) out[k] = pairs.known[k] ? py[k] : 0.0f;
}

std::vector<float> ShallowNet::item_vectors(int* dim) const {
  torch::Tensor w = impl_->net->V->weight.detach().contiguous();
  *dim = static_cast<int>(w.size(1));
  return std::vector<float>(w.data_ptr<float>(), w.data_ptr<float>() + w.numel());
}

std::vector<float> ShallowNet::user_vectors(int* dim) const {
  torch::Tensor w = impl_->net->U->weight.detach().contiguous();
  *dim = static_cast<int>(w.size(1));
  return std::vector<float>(w.data_ptr<float>(), w.data_ptr<float>() + w.numel());
}

void ShallowNet::save_tensors(TensorMap& out) const {
  save_module(*impl_->net, "net.", out);
  out["vocab"] = Tensor::strings(impl_->vocab);
  out["categories"] = Tensor::strings(impl_->categories);
  out["titles"] = from_torch_i64(impl_->titles);
  out["item_categories"] = from_torch_i64(impl_->item_cats);
}

void ShallowNet::load_tensors(const TensorMap& in) {
  auto impl = std::make_unique<Impl>();
  impl->vocab = require_tensor(in, "vocab", DType::kStr).as_strings();
  impl->categories = require_tensor(in, "categories", DType::kStr).as_strings();
  impl->titles =
      to_torch_i64(require_tensor(in, "titles", DType::kI64, static_cast<int64_t>(n_items()) * p_.title_length),
                   {n_items(), p_.title_length});
  impl->item_cats = to_torch_i64(require_tensor(in, "item_categories", DType::kI64, n_items()), {n_items()});
  if (impl->titles.min().item<int64_t>() < 0 ||
      impl->titles.max().item<int64_t>() >= static_cast<int64_t>(impl->vocab.size()) ||
      impl->item_cats.min().item<int64_t>() < 0 ||
      impl->item_cats.max().item<int64_t>() >= static_cast<int64_t>(impl->categories.size()))
    throw Error("model file: title or category ids out of range");
  impl->net = Net(p_, n_users(), n_items(), static_cast<int64_t>(impl->vocab.size()),
                  static_cast<int64_t>(impl->categories.size()));
  load_module(*impl->net, "net.", in);
  impl->net->eval();
  impl->cache_item_side();
  impl_ = std::move(impl);
}

}  // namespace mfkit
