// This library's kernel table (compiled into libmfkit for the baseline and into each
// libmfkit_kernels_<isa>.so, which exports it: kernels/dispatch.h).
#include "kernels/dispatch.h"

#ifndef MFKIT_KERNEL_ISA
#define MFKIT_KERNEL_ISA baseline
#endif
#define MFKIT_STR2(x) #x
#define MFKIT_STR(x) MFKIT_STR2(x)

namespace mfkit::kern {

const KernelTable& table() {
  static const KernelTable t = [] {
    KernelTable k;
    k.isa = MFKIT_STR(MFKIT_KERNEL_ISA);
    k.sgd_block = &sgd_block;
    k.gram = &gram;
    k.implicit_half_sweep = &implicit_half_sweep;
    k.implicit_loss = &implicit_loss;
    k.als_half_sweep = &als_half_sweep;
    k.bpr_epoch = &bpr_epoch;
    k.dot_scores = &dot_scores;
    k.top_k = &top_k;
    return k;
  }();
  return t;
}

}  // namespace mfkit::kern

#ifdef MFKIT_KERNEL_LIBRARY
/// The one symbol a kernel library exports (everything else in it is hidden).
extern "C" __attribute__((visibility("default"))) const mfkit::KernelTable* mfkit_kernels() {
  return &mfkit::kern::table();
}
#endif
