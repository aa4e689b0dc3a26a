// The top-N kernels: every item's score for a batch of users (one GEMM) and the best k of a row
// of scores (compiled once per instruction set: kernels/dispatch.h).
#include <Eigen/Dense>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "kernels/dispatch.h"
#include "kernels/scores.h"

namespace mfkit::kern {

using RowMat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

void dot_scores(const float* X, const float* Y, int32_t n_items, int k, const int32_t* users, size_t n, float* out) {
  RowMat U(static_cast<Eigen::Index>(n), k);
  for (size_t r = 0; r < n; ++r)
    std::copy_n(X + static_cast<size_t>(users[r]) * k, k, U.row(static_cast<Eigen::Index>(r)).data());
  Eigen::Map<const RowMat> Ym(Y, n_items, k);
  Eigen::Map<RowMat>(out, static_cast<Eigen::Index>(n), n_items).noalias() = U * Ym.transpose();
}

std::vector<Scored> top_k(const float* scores, int32_t n, int k, const int32_t* tie_rank) {
  std::vector<Scored> heap;
  if (k <= 0) return heap;
  heap.reserve(k + 1);
  // A heap under `better`: the root is the worst kept entry.
  const Better better{tie_rank};
  const float ninf = -std::numeric_limits<float>::infinity();
  int32_t i = 0;
  for (; i < n && static_cast<int>(heap.size()) < k; ++i) {
    float s = scores[i];
    if (s == ninf || std::isnan(s)) continue;
    heap.push_back({i, s});
    std::push_heap(heap.begin(), heap.end(), better);
  }
  if (i == n) {
    std::sort_heap(heap.begin(), heap.end(), better);
    return heap;
  }
  // The heap is full: only a score above its worst one enters, or an equal one that the tie
  // order puts first (NaN and -inf never do; in index order an equal score never displaces a
  // smaller index). Scan in blocks of W, which the compiler vectorises, and look closer only at
  // a block holding such a score: after the first few blocks almost none does.
  float worst = heap.front().score;
  auto take = [&](int32_t j) {
    const float s = scores[j];
    if (s > worst || (tie_rank && s == worst && tie_rank[j] < tie_rank[heap.front().index])) {
      std::pop_heap(heap.begin(), heap.end(), better);
      heap.back() = {j, s};
      std::push_heap(heap.begin(), heap.end(), better);
      worst = heap.front().score;
    }
  };
  constexpr int32_t W = 32;
  for (; i + W <= n; i += W) {
    int any = 0;
    if (tie_rank) {
#pragma omp simd reduction(| : any)
      for (int32_t j = 0; j < W; ++j) any |= scores[i + j] >= worst;
    } else {
#pragma omp simd reduction(| : any)
      for (int32_t j = 0; j < W; ++j) any |= scores[i + j] > worst;
    }
    if (any)
      for (int32_t j = i; j < i + W; ++j) take(j);
  }
  for (; i < n; ++i) take(i);
  std::sort_heap(heap.begin(), heap.end(), better);
  return heap;
}

}  // namespace mfkit::kern
