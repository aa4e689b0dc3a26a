// nnmf's parameters: declared in include/mfkit/models/nnmf.h, visited and checked here (no libtorch,
// so that the registry can describe them without loading the neural part).
#include "mfkit/error.h"
#include "mfkit/models/nnmf.h"

namespace mfkit {

void NnmfParams::visit(ParamVisitor& v) {
  v.param("d", d, "D: size of U_n and V_m, fed to the network directly", 0, 4096);
  v.param("d_prime", d_prime, "D': rows of U'_n and V'_m, the element-wise product block", 0, 4096);
  v.param("k", k, "K: columns of U'_n and V'_m summed in the product block", 1, 256);
  v.param("layers", layers, "hidden layers of the network", 1, 16);
  v.param("hidden", hidden, "units per hidden layer", 1, 4096);
  v.param("activation", activation, "hidden activation", {"sigmoid", "relu", "tanh", "elu"});
  v.param("lambda", lambda, "L2 on the latents in the summed objective; -1: the warm start's reg per rating", -1, 1e9);
  v.param("bias_lambda", bias_lambda, "L2 on the user/item biases, weighted like lambda (0: unpenalised)", 0, 1e9);
  v.param("reg_exponent", reg_exponent,
          "a row with n ratings is penalised lambda * n^this * |row|^2 (0: the paper; 1: per rating)", 0, 1);
  v.param("optimizer", optimizer, "optimiser of network and latents", {"rmsprop", "adam", "adamw"});
  v.param("learning_rate", learning_rate, "step size of both optimisers", 1e-7, 10);
  v.param("lr_decay", lr_decay, "learning rate multiplied by this after every epoch", 0.5, 1);
  v.param("weight_decay", weight_decay, "adamw only: decoupled decay of the network weights", 0, 10);
  v.param("batch_size", batch_size, "ratings per step; 0 = full batch (the paper's reference code)", 0, 1 << 24);
  v.param("epochs", epochs, "upper bound on epochs", 1, 1000000);
  v.param("patience", patience, "epochs without validation gain before stopping; the best is restored (0 = off)", 0,
          1000000);
  v.param("valid_fraction", valid_fraction, "carved from the training data for early stopping when none is given", 0,
          0.5);
  v.param("init_std", init_std, "std of the truncated normal initial latents", 0, 10);
  v.param("biases", biases, "global mean and user/item biases outside the network");
  v.param("dropout", dropout, "dropout on the hidden layers", 0, 0.95);
  v.param("clip", clip, "clip predictions to the training rating range");
  v.param("skip", skip, "a linear path from the product block to the output (NeuMF's GMF beside the MLP)");
  v.param("ema", ema,
          "per-epoch decay of a moving average of all parameters used for validation and the model (0 = off)", 0,
          0.999);
  v.param("ensemble", ensemble, "average the predictions of this many seeds", 1, 64);
  v.param("warm_start", warm_start,
          "biased-mf: the product block starts as biased MF's factors (d_prime of them), the skip path as their dot "
          "product, the network at 0",
          {"none", "biased-mf"});
  v.param("warm_reg", warm_reg,
          "the warm start's reg; 0: the best on the validation part of 0.01-0.16 times the rating sd", 0, 100);
  v.param("standardize", standardize,
          "train on (rating - mean) / sd, so that steps and lambda do not depend on the rating scale");
  v.param("blend", blend,
          "partners mixed with the network (biased MF, I-AutoRec or both, fitted on the same part), the weights (>= 0, "
          "summing to 1) chosen on the validation part",
          {"none", "biased-mf", "autorec", "biased-mf+autorec"});
  v.param("blend_factors", blend_factors,
          "factors of the blended biased MF (the warm start's own when warm_start=biased-mf)", 1, 4096);
  v.param("autorec_hidden", autorec_hidden, "blend with autorec: hidden units of I-AutoRec (its item codes' size)", 1,
          4096);
  v.param("autorec_lambda", autorec_lambda,
          "blend with autorec: L2 on I-AutoRec's weights, times the ratings of an average user", 0, 1e9);
}

void NnmfParams::validate() const {
  if (d + d_prime == 0) throw ParamError("nnmf: d and d_prime cannot both be 0");
  if (warm_start == "biased-mf" && (d_prime == 0 || k != 1))
    throw ParamError("nnmf: warm_start=biased-mf needs d_prime > 0 (its factors) and k = 1");
  if (lambda < 0 && (lambda != -1 || warm_start == "none"))
    throw ParamError("nnmf: lambda = -1 (the warm start's reg) needs warm_start=biased-mf; else lambda >= 0");
}

}  // namespace mfkit
