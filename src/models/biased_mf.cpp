#include "mfkit/models/biased_mf.h"

#include <cmath>

#include "kernels/sgd.h"
#include "mfkit/error.h"
#include "models/factor_models.h"
#include "models/epochs.h"

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
  v.param("blocks", blocks, "the FPSG grid is blocks x blocks; 0 = max(2*threads+1, 20)", 0, 1000);
  v.param("patience", patience, "stop after this many epochs without validation gain and restore the best (0 = off)", 0, 100000);
  v.param("clip", clip, "clip predictions to the training rating range");
}

void BiasedMfParams::validate() const {
  if (blocks != 0 && blocks < 1) throw ParamError("biased-mf: blocks must be 0 (auto) or positive");
}

void BiasedMf::do_fit(const Interactions& train, const FitOptions& opt) {
  const auto& p = p_;
  f_.init(train, p.factors, p.init_std / std::sqrt(static_cast<double>(p.factors)), opt.ctx.seed, p.clip);
  const int threads = opt.ctx.threads;
  int nb = p.blocks > 0 ? p.blocks : std::max(2 * threads + 1, 20);
  if (nb < 2 * threads + 1 && threads > 1)
    throw ParamError("biased-mf: blocks = " + std::to_string(nb) + " must be at least 2*threads+1 = " +
                     std::to_string(2 * threads + 1));
  FpsgGrid grid = FpsgGrid::build(train, nb, opt.ctx.seed + 1, threads);
  SgdState state;
  state.init(f_, threads);
  SgdConfig cfg;
  cfg.lr = static_cast<float>(p.learning_rate);
  cfg.reg = static_cast<float>(p.reg);
  cfg.reg_bias = static_cast<float>(p.reg_bias);
  cfg.adaptive = p.adaptive;
  cfg.biases = p.biases;
  run_epochs(type(), p.epochs, p.patience, &f_, opt, [&](int ep) {
    double sse = run_sgd_epoch(grid, state, cfg, threads, opt.ctx.seed * 1000003ULL + ep);
    state.export_to(f_, threads);
    if (!p.adaptive) cfg.lr *= static_cast<float>(p.lr_decay);
    return std::sqrt(sse / static_cast<double>(train.nnz()));
  });
}

void BiasedMf::load_tensors(const TensorMap& in) { f_.load(in, n_users(), n_items()); f_.clip = p_.clip; }

}  // namespace mfkit
