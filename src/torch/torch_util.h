// Internal: moving libtorch module state in and out of mfkit model-file tensors.
// Include only from .cpp files that already use libtorch.
#pragma once

#include <torch/torch.h>

#include <malloc.h>

#include <string>

#include "kernels/lapack.h"
#include "mfkit/error.h"
#include "mfkit/model_file.h"

namespace mfkit {

/// libtorch runs `threads` intra-op threads; the BLAS under it runs one. Debian's OpenBLAS is the
/// pthread build: left at its default it starts its own threads beside libtorch's and the two
/// contend for the cores (measured: an NNMF epoch on ML-1M took 3.4 s instead of 0.9 s).
inline void configure_torch_threads(int threads) {
  at::set_num_threads(threads);
  set_blas_threads(1);
  // glibc returns freed blocks above its mmap threshold to the system at once, and trims the heap
  // above 128 KB: libtorch's temporaries of a few MB were mapped, faulted in and unmapped at
  // every step (I-AutoRec on ML-1M: 117 s with 39 s in the kernel; 75 s and 1.6 s with these).
  // 32 MB is the largest threshold glibc accepts; the trim threshold is set only once the
  // threshold is (setting it alone freezes the threshold where it is).
#ifdef __GLIBC__
  if (mallopt(M_MMAP_THRESHOLD, 32 << 20) == 1) mallopt(M_TRIM_THRESHOLD, 256 << 20);
#endif
}

/// Every parameter and buffer of `m` as f32 tensors named prefix + torch name.
inline void save_module(torch::nn::Module& m, const std::string& prefix, TensorMap& out) {
  auto put = [&](const std::string& name, const torch::Tensor& t) {
    torch::Tensor c = t.detach().to(torch::kFloat).contiguous();
    // A scalar is stored as one value (built in one step: GCC 12 warns, wrongly, about reassigning).
    const std::vector<int64_t> shape = c.dim() == 0 ? std::vector<int64_t>{1} : c.sizes().vec();
    out[prefix + name] = Tensor::f32(std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel()), shape);
  };
  for (const auto& p : m.named_parameters()) put(p.key(), p.value());
  for (const auto& b : m.named_buffers()) put(b.key(), b.value());
}

/// Copies the stored tensors into a freshly built module of the same shape; Error on mismatch.
inline void load_module(torch::nn::Module& m, const std::string& prefix, const TensorMap& in) {
  torch::NoGradGuard g;
  auto take = [&](const std::string& name, torch::Tensor t) {
    const Tensor& x = require_tensor(in, prefix + name, DType::kF32, t.numel());
    std::vector<float> v = x.as_f32();
    for (float f : v)
      if (!std::isfinite(f)) throw Error("model file: tensor '" + prefix + name + "' holds NaN or infinity");
    t.copy_(torch::from_blob(v.data(), t.sizes(), torch::kFloat).to(t.dtype()));
  };
  for (auto& p : m.named_parameters()) take(p.key(), p.value());
  for (auto& b : m.named_buffers()) take(b.key(), b.value());
}

/// (user, item) pairs as index tensors for a network; pairs with an id outside the model
/// (unknown: -1) are flagged in `known` and read row 0, so the caller substitutes a fallback.
struct PairTensors {
  std::vector<int64_t> users, items;  // owned storage behind u and i
  std::vector<char> known;
  torch::Tensor u, i;
  PairTensors(const int32_t* us, const int32_t* is, size_t n, int32_t n_users, int32_t n_items)
      : users(n), items(n), known(n) {
    for (size_t k = 0; k < n; ++k) {
      known[k] = us[k] >= 0 && us[k] < n_users && is[k] >= 0 && is[k] < n_items;
      users[k] = known[k] ? us[k] : 0;
      items[k] = known[k] ? is[k] : 0;
    }
    u = torch::from_blob(users.data(), {static_cast<int64_t>(n)}, torch::kLong);
    i = torch::from_blob(items.data(), {static_cast<int64_t>(n)}, torch::kLong);
  }
};

inline Tensor from_torch_i64(const torch::Tensor& t) {
  torch::Tensor c = t.to(torch::kLong).contiguous();
  std::vector<int64_t> shape(c.sizes().begin(), c.sizes().end());
  return Tensor::i64(std::vector<int64_t>(c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel()), shape);
}

inline torch::Tensor to_torch_i64(const Tensor& x, std::vector<int64_t> shape) {
  std::vector<int64_t> v = x.as_i64();
  return torch::from_blob(v.data(), shape, torch::kLong).clone();
}

}  // namespace mfkit
