// Internal: LIBMF-style parallel SGD for biased MF. The update rule (sgd_block) is kept apart
// from the schedule (FpsgGrid + run_sgd_epoch), as in LIBMF.
#pragma once

#include <cstdint>
#include <vector>

#include "mfkit/interactions.h"

namespace mfkit {

struct SgdConfig {
  float lr = 0.01f;
  float reg = 0.05f;
  float reg_bias = 0.01f;
  bool adaptive = true;  // per-vector AdaGrad accumulators
  bool biases = true;
};

/// One training entry.
struct Rating {
  int32_t u, i;
  float r;
};

/// The ratings cut into a grid of user_bands x item_bands blocks after a random permutation of
/// rows and columns; block b is user band b / item_bands and item band b % item_bands; entries of
/// a block are contiguous and sorted by user.
struct FpsgGrid {
  int user_bands = 0, item_bands = 0;
  std::vector<Rating> entries;
  std::vector<int64_t> block_start;  // user_bands * item_bands + 1
  /// Built by `threads` workers over ranges of users; the grid does not depend on `threads`.
  static FpsgGrid build(const Interactions& train, int user_bands, int item_bands, uint64_t seed, int threads = 1);
  /// The same from a by-user matrix whose columns are [0, n_items) (a stratum of DSGD).
  static FpsgGrid build(const Csr& by_user, int32_t n_items, int user_bands, int item_bands, uint64_t seed,
                        int threads = 1);
};

/// Where things sit in a row of SgdState: the k factors zero-padded to `width` (a multiple of 16),
/// then the bias, the AdaGrad accumulator of the factors and that of the bias, padded to `stride`
/// floats (a multiple of 16: 64 bytes). The kernel works on whole 16-float vectors of the padded
/// factors (the padding stays zero), and two threads never write to the same cache line.
struct SgdRow {
  int k = 0, width = 0, stride = 0;
  SgdRow() = default;
  explicit SgdRow(int k_) : k(k_), width((k_ + 15) / 16 * 16), stride(width + 16) {}
  int bias() const { return width; }
  int acc() const { return width + 1; }       // of the factors
  int bias_acc() const { return width + 2; }  // of the bias
  /// Fills a row from k factors and a bias; accumulators start at 1 (as LIBMF).
  void put(float* row, const float* factors, float bias) const;
  /// Copies the k factors out of a row and returns its bias.
  float get(const float* row, float* factors) const;
};

/// The working copy SGD updates: one 64-byte-aligned SgdRow per user and per item.
struct SgdState {
  SgdRow row;
  float mu = 0;
  std::vector<float> storage;
  float* users = nullptr;  // n_users rows
  float* items = nullptr;  // n_items rows
  int32_t n_users = 0, n_items = 0;
  /// Room for n_users + n_items rows of this layout, the first on a 64-byte boundary (the model
  /// fills them: SgdRow::put).
  void allocate(const SgdRow& layout, int32_t n_users, int32_t n_items);
};

/// Runs the update rule over entries [begin, end); returns the sum of squared errors seen.
double sgd_block(const Rating* begin, const Rating* end, SgdState& s, const SgdConfig& c);

/// One epoch: every block exactly once, blocks taken by `threads` workers so that blocks in
/// flight share no row band and no column band. Block order is drawn from `seed`.
/// Returns the sum of squared errors seen during the pass.
double run_sgd_epoch(const FpsgGrid& grid, SgdState& s, const SgdConfig& c, int threads, uint64_t seed);

}  // namespace mfkit
