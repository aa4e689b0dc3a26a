// Internal: the hot kernels for the instruction set the CPU has, chosen once at run time.
//
// mfkit is built for a baseline x86-64 (x86-64-v2: SSE4.2 and POPCNT) so that one build runs on
// any machine of the last fifteen years. The loops that decide its speed (the SGD block update,
// the implicit-ALS CG and Cholesky sweeps and their Gram matrix, the explicit-ALS solves, the
// BPR/WARP epoch, the top-N scores and their selection) are compiled three times from the same
// sources: into libmfkit itself for the baseline, and into libmfkit_kernels_avx2.so
// (x86-64-v3: AVX2, FMA) and libmfkit_kernels_avx512.so (x86-64-v4: AVX-512 F/BW/DQ/VL), each a
// library of its own with hidden symbols, so that no code compiled for a wider instruction set
// can stand in for baseline code (as inline functions and templates shared between objects of
// one library could). The first kernel call picks the widest set the CPU and the OS support,
// or the one MFKIT_ISA=baseline|avx2|avx512 names, and loads its library from beside libmfkit
// (as faiss does with its avx2/avx512 builds). Each kernel's public declaration stays in its
// header (kernels/sgd.h, ...); its definition, in dispatch.cpp, forwards to the table.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kernels/als_explicit.h"
#include "kernels/sgd.h"
#include "mfkit/interactions.h"
#include "mfkit/recommend.h"

namespace mfkit {

// bpr's step lives with its model (models/bpr/bpr_step.h); the table only passes these along.
struct BprState;
struct BprConfig;

/// One instruction set's kernels. Built from the same headers as the core, so the structures
/// passed through it are laid out alike; `abi` guards against a library from another build.
struct KernelTable {
  static constexpr int kAbi = 1;
  int abi = kAbi;
  const char* isa = "";  ///< baseline | avx2 | avx512
  double (*sgd_block)(const Rating*, const Rating*, SgdState&, const SgdConfig&) = nullptr;
  void (*gram)(const float*, int32_t, int, float, float*) = nullptr;
  void (*implicit_half_sweep)(const Csr&, const float*, const float*, const float*, int, int, float*, int) = nullptr;
  double (*implicit_loss)(const Csr&, const float*, const float*, int32_t, const float*, int32_t, int, float,
                          int) = nullptr;
  void (*als_half_sweep)(const Csr&, const float*, const float*, const AlsSolveConfig&, float*, float*, int) = nullptr;
  double (*bpr_epoch)(const Csr&, const std::vector<int32_t>&, BprState&, const BprConfig&, int, uint64_t) = nullptr;
  void (*dot_scores)(const float*, const float*, int32_t, int, const int32_t*, size_t, float*) = nullptr;
  std::vector<Scored> (*top_k)(const float*, int32_t, int, const int32_t*) = nullptr;
};

/// The implementations, one set per library (the core's is the baseline one).
namespace kern {
double sgd_block(const Rating* begin, const Rating* end, SgdState& s, const SgdConfig& c);
void gram(const float* Y, int32_t n, int f, float reg, float* G);
void implicit_half_sweep(const Csr& m, const float* conf, const float* Y, const float* G, int f, int cg_steps, float* X,
                         int threads);
double implicit_loss(const Csr& by_user, const float* conf, const float* X, int32_t n_users, const float* Y,
                     int32_t n_items, int f, float reg, int threads);
void als_half_sweep(const Csr& rows, const float* Y, const float* cb, const AlsSolveConfig& c, float* X, float* xb,
                    int threads);
double bpr_epoch(const Csr& by_user, const std::vector<int32_t>& entry_user, BprState& s, const BprConfig& c,
                 int threads, uint64_t seed);
void dot_scores(const float* X, const float* Y, int32_t n_items, int k, const int32_t* users, size_t n, float* out);
std::vector<Scored> top_k(const float* scores, int32_t n, int k, const int32_t* tie_rank);
/// This library's table.
const KernelTable& table();
}  // namespace kern

/// The kernels in use: chosen on the first call (thread-safe) from MFKIT_ISA, else the widest
/// instruction set the CPU runs whose library loads. Error for an MFKIT_ISA that is unknown or
/// that this CPU cannot run.
const KernelTable& kernels();

/// What `kernels()` chose and what it could have chosen.
struct KernelInfo {
  std::string isa;                     ///< in use
  std::vector<std::string> available;  ///< the CPU runs them and their library loads
  std::string cpu;                     ///< the CPU's model name
  std::string reason;                  ///< why this one ("MFKIT_ISA", "widest available", ...)
  std::string build;                   ///< what the rest was compiled for (x86-64-v2, or native)
};
/// One line for --version and mfkit.__config__: "avx512 (of baseline, avx2, avx512; ...)".
std::string describe(const KernelInfo& info);
KernelInfo kernel_info();

/// Switches to another instruction set's kernels from now on (tests and benchmarks comparing the
/// paths on one machine): Error when the CPU cannot run it or its library does not load.
void use_kernels(const std::string& isa);

}  // namespace mfkit
