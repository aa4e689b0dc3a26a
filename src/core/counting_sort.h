// Internal: the pieces of a parallel stable counting sort over the rows of a CSR matrix.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "mfkit/interactions.h"

namespace mfkit {

/// The rows of `c` cut into `parts` ranges of about equal entries: part t takes rows
/// [first[t], first[t + 1]) (first has parts + 1 values, from 0 to c.rows()).
inline std::vector<int32_t> row_ranges(const Csr& c, int parts) {
  const int64_t nnz = c.indptr.back();
  std::vector<int32_t> first(static_cast<size_t>(parts) + 1, c.rows());
  for (int t = 0; t < parts; ++t)
    first[t] = static_cast<int32_t>(std::lower_bound(c.indptr.begin(), c.indptr.end() - 1, nnz * t / parts) -
                                    c.indptr.begin());
  return first;
}

/// Turns each worker's count per bucket (`counts[t][b]`) into that worker's first free place in
/// the bucket, workers in order (so that the sort is stable), and writes the buckets' starts:
/// starts[b] for every bucket, starts[buckets] the total.
inline void counts_to_places(std::vector<std::vector<int64_t>>& counts, size_t buckets, std::vector<int64_t>& starts) {
  starts.assign(buckets + 1, 0);
  int64_t at = 0;
  for (size_t b = 0; b < buckets; ++b) {
    starts[b] = at;
    for (auto& mine : counts) {
      const int64_t n = mine[b];
      mine[b] = at;
      at += n;
    }
  }
  starts[buckets] = at;
}

}  // namespace mfkit
