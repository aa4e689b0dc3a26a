// The table of entry points libmfkit_torch.so hands to the core (see core/torch_part.h).
#include "core/torch_part.h"
#include "models/nnmf/nnmf_model.h"
#include "models/shallow_net/shallow_net_model.h"
#include "torch/torch_util.h"

namespace mfkit {
namespace {

std::unique_ptr<Model> create_torch_model(const std::string& type) {
  if (type == "nnmf") return std::make_unique<Nnmf>();
  if (type == "shallow-net") return std::make_unique<ShallowNet>();
  return nullptr;
}

void set_threads(int threads) { configure_torch_threads(threads < 1 ? 1 : threads); }

}  // namespace
}  // namespace mfkit

extern "C" const mfkit::TorchPart* mfkit_torch_part() {
  static const mfkit::TorchPart part = [] {
    mfkit::TorchPart p;
    p.create_model = &mfkit::create_torch_model;
    p.new_meta_mf = &mfkit::new_torch_meta_mf;
    p.connect = &mfkit::gloo_connect;
    p.set_threads = &mfkit::set_threads;
    return p;
  }();
  return &part;
}
