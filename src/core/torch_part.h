// Internal: the part of mfkit that needs libtorch (the neural models, meta-mf's network, the Gloo
// communicator) lives in its own shared library, libmfkit_torch.so, loaded on first use. A
// command that never creates or loads a neural model never loads libtorch (about 0.6 s of
// static initialisers on this machine's kind), so `mfkit --help` or a biased-mf `predict` start
// in milliseconds.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "mfkit/communicator.h"
#include "mfkit/meta.h"
#include "mfkit/model.h"

namespace mfkit {

/// What libmfkit_torch.so hands to the core: one table of entry points. Both sides are built
/// from the same sources in the same build; `abi` guards against mixing builds.
struct TorchPart {
  static constexpr int kAbi = 1;
  int abi = kAbi;
  /// A new, unfitted model of a type the part implements ("nnmf", "shallow-net"); nullptr for others.
  std::unique_ptr<Model> (*create_model)(const std::string& type) = nullptr;
  /// meta-mf's network with its parameters (seeded, untrained).
  std::unique_ptr<MetaMf::Impl> (*new_meta_mf)(const MetaMfParams& p) = nullptr;
  /// Joins a distributed job on c10d's Gloo backend.
  std::unique_ptr<Communicator> (*connect)(const DistEnv& env, std::chrono::milliseconds timeout) = nullptr;
  /// libtorch's intra-op threads (its BLAS kept at one).
  void (*set_threads)(int threads) = nullptr;
};

/// The part, loaded on the first call (thread-safe). Error naming the library's path and the
/// loader's message when it cannot be loaded.
const TorchPart& torch_part();
/// Whether the part is loaded in this process (for tests and the start-up bench).
bool torch_part_loaded();

// Defined in libmfkit_torch.so only (the part's table points at them).
std::unique_ptr<MetaMf::Impl> new_torch_meta_mf(const MetaMfParams& p);  // meta/meta_net.cpp
std::unique_ptr<Communicator> gloo_connect(const DistEnv& env,
                                           std::chrono::milliseconds timeout);  // dist/gloo_communicator.cpp

}  // namespace mfkit

/// The symbol libmfkit_torch.so exports.
extern "C" const mfkit::TorchPart* mfkit_torch_part();
