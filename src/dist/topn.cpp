// Batch top-N across ranks: each rank ranks all items for the users it owns. Item rows (factors,
// bias, raw ids) pass round the ranks as in DSGD; each rank scores its users against the block it
// holds, one GEMM per chunk of users, leaves out their training items and keeps a running top k.

#include <fmt/format.h>

#include <Eigen/Dense>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>

#include "dist/fit.h"
#include "io/atomic_file.h"
#include "mfkit/error.h"

namespace mfkit::dist {

namespace {

using RowMat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// Higher score first; equal scores by global item index.
bool better(const Ranked& a, const Ranked& b) {
  if (a.score != b.score) return a.score > b.score;
  return a.users != b.users ? a.users > b.users : a.item < b.item;
}

}  // namespace

std::vector<std::vector<Ranked>> top_n(Communicator& comm, const Partition& part, const LocalModel& m, int k,
                                       int threads) {
  const int P = comm.size(), me = comm.rank(), f = m.k;
  const int64_t nu = static_cast<int64_t>(part.users.names.size());
  const size_t width = static_cast<size_t>(f) + 1;  // factors, bias
  // The block this rank holds: rows and raw ids of one owner's items (its own first).
  std::vector<float> rows(part.items.names.size() * width);
  for (size_t i = 0; i < part.items.names.size(); ++i) {
    std::copy_n(m.Q.data() + i * f, f, rows.data() + i * width);
    rows[i * width + f] = m.bi.empty() ? 0.0f : m.bi[i];
  }
  std::vector<uint8_t> names;
  for (const auto& s : part.items.names) pack(names, s);
  std::vector<int64_t> users(part.items.names.size());  // training users per item: the tie order
  for (size_t i = 0; i < users.size(); ++i) users[i] = part.by_item.rows.indptr[i + 1] - part.by_item.rows.indptr[i];
  const Csr& seen = part.by_user.rows;
  const std::vector<int64_t>& columns = part.by_user.columns;
  std::vector<std::vector<Ranked>> heaps(nu);
  for (int t = 0; t < P; ++t) {
    const int j = (me + t) % P;
    const int64_t base = part.items.offsets[j], nj = part.items.offsets[j + 1] - base;
    const std::vector<std::string_view> ids = unpack(names, {static_cast<int64_t>(names.size())}, nullptr);
    if (static_cast<int64_t>(ids.size()) != nj || rows.size() != static_cast<size_t>(nj) * width ||
        static_cast<int64_t>(users.size()) != nj)
      throw DistError(
          fmt::format("rank {}: the item block of rank {} arrived with {} rows, expected {}", me, j, ids.size(), nj));
    Eigen::Map<const RowMat> Q(rows.data(), nj, static_cast<int64_t>(width));
    const int64_t chunk = std::clamp<int64_t>((int64_t(1) << 22) / std::max<int64_t>(nj, 1), 1, 1024);
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
    for (int64_t c0 = 0; c0 < nu; c0 += chunk) {
      const int64_t c1 = std::min(nu, c0 + chunk);
      Eigen::Map<const RowMat> U(m.P.data() + c0 * f, c1 - c0, f);
      RowMat S = U * Q.leftCols(f).transpose();
      S.rowwise() += Q.col(f).transpose();
      for (int64_t u = c0; u < c1; ++u) {
        float* s = S.data() + (u - c0) * nj;
        // Training items of this user among rank j's items: one run of the row's global columns.
        for (int64_t e = seen.indptr[u]; e < seen.indptr[u + 1]; ++e) {
          const int64_t g = columns[seen.indices[e]];
          if (g >= base && g < base + nj) s[g - base] = -std::numeric_limits<float>::infinity();
        }
        auto& h = heaps[u];
        for (int64_t i = 0; i < nj; ++i) {
          if (s[i] == -std::numeric_limits<float>::infinity() || std::isnan(s[i])) continue;
          Ranked r{s[i], base + i, users[i], {}};
          if (static_cast<int>(h.size()) == k && !better(r, h.front())) continue;
          r.name = std::string(ids[i]);
          if (static_cast<int>(h.size()) == k) {
            std::pop_heap(h.begin(), h.end(), better);
            h.back() = std::move(r);
          } else {
            h.push_back(std::move(r));
          }
          std::push_heap(h.begin(), h.end(), better);
        }
      }
    }
    if (P == 1) break;
    // Hand the block to rank me - 1 and take rank j + 1's from rank me + 1.
    std::vector<int64_t> counts(P, 0);
    counts[(me + P - 1) % P] = static_cast<int64_t>(rows.size());
    rows = comm.alltoall(rows, counts, nullptr, "pass item blocks for top-N");
    counts[(me + P - 1) % P] = static_cast<int64_t>(names.size());
    names = comm.alltoall(names, counts, nullptr, "pass item ids for top-N");
    counts[(me + P - 1) % P] = static_cast<int64_t>(users.size());
    users = comm.alltoall(users, counts, nullptr, "pass item counts for top-N");
  }
  for (int64_t u = 0; u < nu; ++u) {
    std::sort_heap(heaps[u].begin(), heaps[u].end(), better);
    if (!m.bu.empty())
      for (Ranked& r : heaps[u]) r.score += m.mu + m.bu[u];
  }
  return heaps;
}

void write_top_n(Communicator& comm, const Partition& part, const std::vector<std::vector<Ranked>>& lists,
                 const std::string& dir) {
  comm.all_or_none("write top-N", "write its top-N part", [&] {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) throw Error(fmt::format("--top-n: cannot create folder {}: {}", dir, ec.message()));
    std::string text = "user,rank,item,score\n";
    for (size_t u = 0; u < lists.size(); ++u)
      for (size_t r = 0; r < lists[u].size(); ++r)
        text += fmt::format("{},{},{},{:.6g}\n", part.users.names[u], r + 1, lists[u][r].name, lists[u][r].score);
    write_file_atomically(fmt::format("{}/part-{}-of-{}.csv", dir, comm.rank(), comm.size()), text, "top-N file");
  });
}

}  // namespace mfkit::dist
