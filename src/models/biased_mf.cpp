#include "mfkit/models/biased_mf.h"

#include <algorithm>
#include <cmath>

#include "kernels/sgd.h"
#include "mfkit/error.h"
#include "models/epochs.h"
#include "models/factor_models.h"

namespace mfkit {

void BiasedMfParams::visit(ParamVisitor& v) {
  v.param("factors", factors, "latent dimension: more capacity, cost linear in it", 1, 4096);
  v.param("epochs", epochs, "passes over the training data (an upper bound with patience)", 1, 100000);
  v.param("learning_rate", learning_rate, "SGD step size (the initial one when adaptive)", 1e-6, 10);
  v.param("reg", reg, "L2 on factor vectors per update: larger shrinks towards the biases", 0, 100);
  v.param("reg_bias", reg_bias, "L2 on the user and item biases", 0, 100);
  v.param("init_std", init_std, "std of the initial factors, divided by sqrt(factors)", 0, 10);
  v.param("adaptive", adaptive, "per-vector AdaGrad learning rates as LIBMF; false = plain SGD with lr_decay");
  v.param("lr_decay", lr_decay, "plain SGD only: learning rate multiplied by this every epoch", 0.01, 1);
  v.param("biases", biases, "learn user and item biases beside the global mean");
  v.param("blocks", blocks, "user bands of the FPSG grid; 0 = max(2*threads+1, 20)", 0, 1000);
  v.param("item_blocks", item_blocks,
          "item bands of the FPSG grid; 0 = blocks, or max(2*threads+1, 5) once the users' rows pass 128 MiB "
          "(each user's row is fetched once per item band)",
          0, 1000);
  v.param("patience", patience, "stop after this many epochs without validation gain and restore the best (0 = off)", 0,
          100000);
  v.param("clip", clip, "clip predictions to the training rating range");
}

void BiasedMfParams::validate() const {
  if (blocks < 0 || item_blocks < 0) throw ParamError("biased-mf: blocks and item_blocks must be 0 (auto) or positive");
}

std::pair<int, int> BiasedMfParams::grid(int threads, int64_t n_users) const {
  // An epoch fetches each user's row once per item band the user has ratings in. While the users'
  // rows are small that traffic is cheap and LIBMF's square grid stays; past 128 MiB (443k users
  // at 64 factors) fewer item bands make an epoch faster at the same held-out RMSE
  // (bench/sgd_grid.py, docs/scale.md).
  constexpr double kLargeRows = 128.0 * (1 << 20);
  const int least = 2 * threads + 1;
  const int users = blocks > 0 ? blocks : std::max(least, 20);
  const bool large = static_cast<double>(n_users) * sizeof(float) * SgdRow(factors).stride > kLargeRows;
  int items = users;
  if (item_blocks > 0)
    items = item_blocks;
  else if (large)
    items = std::min(users, std::max(least, 5));
  for (auto [name, n] : {std::pair<const char*, int>{"blocks", users}, {"item_blocks", items}})
    if (n < least && threads > 1)
      throw ParamError("biased-mf: " + std::string(name) + " = " + std::to_string(n) +
                       " must be at least 2*threads+1 = " + std::to_string(least));
  return {users, items};
}

void BiasedMf::do_fit(const Interactions& train, const FitOptions& opt) {
  const auto& p = p_;
  f_.init(train, p.factors, p.init_std / std::sqrt(static_cast<double>(p.factors)), opt.ctx.seed, p.clip);
  const int threads = opt.ctx.threads;
  const auto [user_bands, item_bands] = p.grid(threads, train.n_users());
  FpsgGrid grid = FpsgGrid::build(train, user_bands, item_bands, opt.ctx.seed + 1, threads);
  SgdState state;
  to_sgd_state(f_, state, threads);
  SgdConfig cfg;
  cfg.lr = static_cast<float>(p.learning_rate);
  cfg.reg = static_cast<float>(p.reg);
  cfg.reg_bias = static_cast<float>(p.reg_bias);
  cfg.adaptive = p.adaptive;
  cfg.biases = p.biases;
  run_epochs(type(), p.epochs, p.patience, &f_, opt, [&](int ep) {
    double sse = run_sgd_epoch(grid, state, cfg, threads, opt.ctx.seed * 1000003ULL + ep);
    from_sgd_state(state, f_, threads);
    if (!p.adaptive) cfg.lr *= static_cast<float>(p.lr_decay);
    return std::sqrt(sse / static_cast<double>(train.nnz()));
  });
}

void BiasedMf::load_tensors(const TensorMap& in) {
  f_.load(in, n_users(), n_items());
  f_.clip = p_.clip;
}

}  // namespace mfkit
