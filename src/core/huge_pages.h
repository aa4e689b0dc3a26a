// Vectors of large arrays on huge pages (internal).
#pragma once

#include <sys/mman.h>

#include <cstdint>
#include <vector>

namespace mfkit {

/// Asks Linux for huge pages for the whole 2 MiB pages within [p, p + bytes).
inline void advise_huge(void* p, size_t bytes) {
#ifdef MADV_HUGEPAGE
  const uintptr_t page = uintptr_t(2) << 20, begin = reinterpret_cast<uintptr_t>(p);
  const uintptr_t lo = (begin + page - 1) & ~(page - 1), hi = (begin + bytes) & ~(page - 1);
  if (hi > lo) ::madvise(reinterpret_cast<void*>(lo), hi - lo, MADV_HUGEPAGE);
#endif
}

/// Reserves room for n elements in `v` (empty), asking Linux for huge pages: the id table and
/// the row scatters touch places all over large arrays, where 4 KiB pages miss the TLB on
/// nearly every access, and a fresh 4 KiB page costs a fault of its own on first touch.
template <class T>
void reserve_huge(std::vector<T>& v, size_t n) {
  v.reserve(n);
  advise_huge(v.data(), n * sizeof(T));
}

/// Sizes `v` to n (value-initialised) on huge pages, see reserve_huge.
template <class T>
void resize_huge(std::vector<T>& v, size_t n) {
  reserve_huge(v, n);
  v.resize(n);
}

/// A copy of `v` on huge pages: a large copy on 4 KiB pages spends most of its time in page
/// faults, one per 4 KiB of fresh memory.
template <class T>
std::vector<T> copy_huge(const std::vector<T>& v) {
  std::vector<T> out;
  reserve_huge(out, v.size());
  out.assign(v.begin(), v.end());
  return out;
}

}  // namespace mfkit
