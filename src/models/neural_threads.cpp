#include "mfkit/model.h"
#include "models/torch_util.h"

namespace mfkit {

void set_neural_threads(int threads) { configure_torch_threads(threads < 1 ? 1 : threads); }

}  // namespace mfkit
