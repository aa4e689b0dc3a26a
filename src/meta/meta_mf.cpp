// MetaMf: parameters, model files and the calls, forwarded to the network in the neural part
// (src/meta/meta_net.cpp), which is loaded on first use.
#include "core/torch_part.h"
#include "meta/meta_impl.h"
#include "mfkit/error.h"
#include "mfkit/meta.h"
#include "mfkit/model_file.h"

namespace mfkit {

void MetaMfParams::visit(ParamVisitor& v) {
  v.param("factors", factors, "K: factor dimension", 1, 256);
  v.param("layers", layers, "exchangeable layers in the encoder", 1, 16);
  v.param("width", width, "channels per encoder layer", 2, 1024);
  v.param("steps", steps, "T: gradient steps of MAP estimation (0 = the encoder's prior alone)", 0, 200);
  v.param("step_size", step_size, "initial step size of the adaptation (learned when learn_step)", 1e-4, 0.99);
  v.param("learn_step", learn_step, "meta-learn the step size and prior precision");
  v.param("prior_precision", prior_precision, "initial precision of the Gaussian factor prior", 1e-4, 1e4);
  v.param("encoder", encoder, "false: a learned shared initialisation (MAML-style baseline) instead of the encoder");
  v.param("learning_rate", learning_rate, "Adam step size of meta-training", 1e-6, 1);
  v.param("batch", batch, "episodes per meta-training step", 1, 1024);
  v.param("max_steps", max_steps, "meta-training steps, upper bound", 1, 10000000);
  v.param("eval_every", eval_every, "meta-validation every this many steps", 1, 1000000);
  v.param("patience", patience, "validations without gain before stopping (best restored)", 1, 100000);
  v.param("valid_episodes", valid_episodes, "fixed meta-validation episodes", 1, 100000);
  v.param("max_minutes", max_minutes, "wall-clock bound on meta-training", 0.01, 100000);
}

void MetaMfParams::validate() const {}

MetaMf::MetaMf(MetaMfParams p) {
  p.validate();
  impl_ = torch_part().new_meta_mf(p);
}
MetaMf::~MetaMf() = default;
MetaMf::MetaMf(MetaMf&&) noexcept = default;
MetaMf& MetaMf::operator=(MetaMf&&) noexcept = default;

const MetaMfParams& MetaMf::params() const { return impl_->p; }

std::vector<float> MetaMf::predict(const Episode& e, int steps) const {
  return impl_->predict(e, steps < 0 ? impl_->p.steps : steps);
}

std::vector<float> MetaMf::impute(const Episode& e) const { return impl_->impute(e); }

double MetaMf::rmse(const Episode& e, int steps) const { return query_rmse(e, predict(e, steps)); }

nlohmann::json MetaMf::learned() const { return impl_->learned(); }

double MetaMf::meta_train(const EpisodeSource& src, const EpisodeSpec& spec, const Context& ctx,
                          const std::function<bool(const MetaTrainInfo&)>& on_eval) {
  return impl_->meta_train(src, spec, ctx, on_eval);
}

void MetaMf::save(const std::string& path, const nlohmann::json& meta) const {
  ModelFile f;
  f.model_type = "meta-mf";
  MetaMfParams p = impl_->p;
  f.params = params_to_json(p);
  f.meta = meta;
  f.meta["learned"] = learned();
  impl_->save_tensors("net.", f.tensors);
  write_model_file(path, f);
}

MetaMf MetaMf::load(const std::string& path, nlohmann::json* meta) {
  ModelFile f = read_model_file(path);
  if (f.model_type != "meta-mf")
    throw ModelFileError(path, "a " + f.model_type + " model, not meta-mf (use mfkit predict/recommend for it)");
  MetaMfParams p;
  params_from_json(p, f.params, path);
  MetaMf m(p);
  m.impl_->load_tensors("net.", f.tensors);
  if (meta) *meta = f.meta;
  return m;
}

double MetaMf::loss_and_grad(const Episode& e, std::vector<double>* grad) const {
  return impl_->loss_and_grad(e, grad);
}

std::vector<double> MetaMf::get_flat() const { return impl_->get_flat(); }

void MetaMf::set_flat(const std::vector<double>& v) { impl_->set_flat(v); }

}  // namespace mfkit
