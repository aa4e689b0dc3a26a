// shallow-net's parameters: declared in include/mfkit/models/shallow_net.h, visited and checked here
// (no libtorch, so that the registry can describe them without loading the neural part).
#include "mfkit/error.h"
#include "mfkit/models/shallow_net.h"

namespace mfkit {

void ShallowNetParams::visit(ParamVisitor& v) {
  v.param("architecture", architecture, "1 dot, 2 +biases, 3 MLP, 4 +title LSTM, 5 +category embedding", 1, 5);
  v.param("factors", factors, "embedding size F", 1, 1024);
  v.param("reg", reg, "L2 on the whole embedding matrices, added to every batch (Keras)", 0, 1e6);
  v.param("alpha", alpha, "confidence slope: C = 1 + alpha R~", 0, 1e6);
  v.param("epsilon", epsilon, "scaling: R~ = log(1 + R/epsilon)", 1e-12, 1e12);
  v.param("scaling", scaling, "log: R~ = log(1 + R/epsilon); none: R~ = R", {"log", "none"});
  v.param("epochs", epochs, "passes over the training cells", 1, 100000);
  v.param("batch_size", batch_size, "cells per Adam step", 1, 1 << 20);
  v.param("learning_rate", learning_rate, "Adam step size", 1e-7, 10);
  v.param("cells", cells, "grid: every user x item cell (the post); sampled: observed + sampled negatives",
          {"grid", "sampled"});
  v.param("negatives", negatives,
          "sampled: unobserved cells per observed cell; bpr, warp: negatives drawn per positive", 0, 1000);
  v.param("loss", loss,
          "pointwise: the post's confidence-weighted squared error; bpr or warp: rank observed above unseen",
          {"pointwise", "bpr", "warp"});
  v.param("hidden", hidden, "architecture 3: width of the three dense layers", 1, 4096);
  v.param("dropout", dropout, "architecture 3: dropout after the first dense layer", 0, 0.99);
  v.param("vocabulary", vocabulary, "architectures 4-5: most frequent title words kept", 1, 1000000);
  v.param("title_length", title_length, "architectures 4-5: title tokens kept (pre-padded)", 1, 256);
  v.param("text_dim", text_dim, "architectures 4-5: word embedding and LSTM size", 1, 1024);
}

void ShallowNetParams::validate() const {
  if (loss != "pointwise" && negatives < 1) throw ParamError("shallow-net: loss=" + loss + " needs negatives >= 1");
}

}  // namespace mfkit
