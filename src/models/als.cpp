#include "mfkit/models/als.h"

#include "kernels/als_explicit.h"
#include "models/epochs.h"
#include "models/factor_models.h"
#include "models/factors.h"

namespace mfkit {

void AlsParams::visit(ParamVisitor& v) {
  v.param("factors", factors, "latent dimension: cost grows as factors^2 per rating and factors^3 per row", 1, 1024);
  v.param("iterations", iterations, "full sweeps (users, then items)", 1, 10000);
  v.param("reg", reg, "L2 on factors (times the row's rating count when weighted_reg)", 1e-6, 1e4);
  v.param("reg_bias", reg_bias, "L2 on biases (times the row's rating count when weighted_reg)", 1e-6, 1e4);
  v.param("weighted_reg", weighted_reg, "scale regularisation by ratings per row (ALS-WR)");
  v.param("biases", biases, "solve user and item biases jointly with the factors");
  v.param("init_std", init_std, "std of the normal initial item factors", 0, 10);
  v.param("patience", patience, "stop after this many sweeps without validation gain and restore the best (0 = off)", 0,
          100000);
  v.param("clip", clip, "clip predictions to the training rating range");
}

void AlsParams::validate() const {}

void Als::do_fit(const Interactions& train, const FitOptions& opt) {
  const auto& p = p_;
  f_.init(train, p.factors, p.init_std, opt.ctx.seed, p.clip);
  keyed_normal_rows(train.item_ids()->names(), p.factors, p.init_std, opt.ctx.seed,
                    f_.Q.data());  // as distributed runs
  AlsSolveConfig c;
  c.k = p.factors;
  c.mu = f_.mu;
  c.reg = static_cast<float>(p.reg);
  c.reg_bias = static_cast<float>(p.reg_bias);
  c.weighted = p.weighted_reg;
  c.biases = p.biases;
  const int threads = opt.ctx.threads;
  run_epochs(type(), p.iterations, p.patience, &f_, opt, [&](int) {
    als_half_sweep(train.by_user(), f_.Q.data(), f_.bi.data(), c, f_.P.data(), f_.bu.data(), threads);
    als_half_sweep(train.by_item(), f_.P.data(), f_.bu.data(), c, f_.Q.data(), f_.bi.data(), threads);
    bool saved = f_.clip;
    f_.clip = false;  // the objective's own residual, not the clipped one
    double loss = f_.rmse(train);
    f_.clip = saved;
    return loss;
  });
}

void Als::load_tensors(const TensorMap& in) {
  f_.load(in, n_users(), n_items());
  f_.clip = p_.clip;
}

}  // namespace mfkit
