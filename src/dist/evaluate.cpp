// Held-out figures of a distributed factor model. RMSE: every rank's held-out cells meet the
// user's row at the user's owner and then the item's row at the item's owner, where they are
// scored as one process scores them (Factors::predict). Ranking: the cells meet the user's top-N
// list (topn.cpp) at the user's owner. Sums are then reduced over ranks.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "core/check.h"
#include "dist/fit.h"
#include "mfkit/error.h"
#include "mfkit/metrics.h"

namespace mfkit::dist {

namespace {

// Index of `name` among the sorted owned ids, or -1.
int64_t find(const OwnedIds& ids, std::string_view name) {
  auto it = std::lower_bound(ids.names.begin(), ids.names.end(), name,
                             [](const std::string& a, std::string_view b) { return std::string_view(a) < b; });
  return it != ids.names.end() && *it == name ? it - ids.names.begin() : -1;
}

// Groups entries by destination rank: the order in which to send them and the counts.
std::vector<size_t> by_destination(const std::vector<int>& dest, int P, std::vector<int64_t>& counts) {
  counts.assign(P, 0);
  for (int d : dest) counts[d]++;
  std::vector<size_t> at(P, 0), order(dest.size());
  for (int r = 1; r < P; ++r) at[r] = at[r - 1] + counts[r - 1];
  for (size_t e = 0; e < dest.size(); ++e) order[at[dest[e]]++] = e;
  return order;
}

// Every rank's held-out cells, each sent to its user's owner and merged there by `dup`
// (merge_duplicates): (user id, item id) pairs in `names` (2 per cell) and the ratings.
struct UserCells {
  std::vector<uint8_t> bytes;  // backs `names`
  std::vector<std::string_view> names;
  std::vector<float> values;
};

// The cells of one (user, item) pair that came from several ranks (lines of it in several
// shards; each shard merged its own) as one cell, by the policy the training blocks use: `last`
// keeps the value from the highest rank (the latest line in the file), `sum` adds, `error`
// refuses on every rank.
void merge_duplicates(Communicator& comm, UserCells& cells, DuplicatePolicy dup) {
  const size_t n = cells.values.size();
  std::vector<size_t> order(n);
  for (size_t e = 0; e < n; ++e) order[e] = e;
  auto key = [&](size_t e) { return std::make_pair(cells.names[2 * e], cells.names[2 * e + 1]); };
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return key(a) < key(b); });
  std::vector<std::string_view> names;
  std::vector<float> values;
  names.reserve(2 * n);
  values.reserve(n);
  int64_t repeated = 0;
  for (size_t j = 0; j < n; ++j) {
    const size_t e = order[j];
    if (j > 0 && key(order[j - 1]) == key(e)) {
      ++repeated;
      values.back() = dup == DuplicatePolicy::kSum ? values.back() + cells.values[e] : cells.values[e];
      continue;
    }
    names.push_back(cells.names[2 * e]);
    names.push_back(cells.names[2 * e + 1]);
    values.push_back(cells.values[e]);
  }
  if (dup == DuplicatePolicy::kError) {
    std::vector<double> all{static_cast<double>(repeated)};
    comm.allreduce_sum(all, "duplicate test cells");
    if (all[0] > 0)
      throw Error(
          fmt::format("{} held-out (user, item) pairs appear on more than one line (use duplicates=last or sum)",
                      static_cast<int64_t>(all[0])));
  }
  cells.names = std::move(names);
  cells.values = std::move(values);
}

UserCells cells_at_user_owners(Communicator& comm, const Interactions& test, DuplicatePolicy dup) {
  const int P = comm.size();
  const Coo c = test.to_coo();
  std::vector<int> dest(c.size());
  for (size_t e = 0; e < c.size(); ++e) dest[e] = owner_of_name(test.user_ids()->name(c.users[e]), P);
  std::vector<int64_t> counts;
  std::vector<uint8_t> bytes;
  std::vector<float> values;
  std::vector<int64_t> byte_counts(P, 0);
  for (size_t e : by_destination(dest, P, counts)) {
    const size_t before = bytes.size();
    pack(bytes, test.user_ids()->name(c.users[e]));
    pack(bytes, test.item_ids()->name(c.items[e]));
    byte_counts[dest[e]] += static_cast<int64_t>(bytes.size() - before);
    values.push_back(c.values[e]);
  }
  std::vector<int64_t> recv_bytes;
  UserCells out;
  out.bytes = comm.alltoall(bytes, byte_counts, &recv_bytes, "test cells to user owners");
  out.values = comm.alltoall(values, counts, nullptr, "test cells to user owners");
  out.names = unpack(out.bytes, recv_bytes, nullptr);
  merge_duplicates(comm, out, dup);
  return out;
}

}  // namespace

nlohmann::json evaluate_rating(Communicator& comm, const Partition& part, const LocalModel& m, const Interactions& test,
                               DuplicatePolicy dup) {
  const int P = comm.size(), k = m.k;
  // 1. Each cell to its user's owner, where lines of one pair read by several ranks become one.
  const UserCells cells = cells_at_user_owners(comm, test, dup);
  const std::vector<std::string_view>& names = cells.names;
  const std::vector<float>& got_values = cells.values;
  // 2. At the user's owner: the user's row joins the cell, which goes on to the item's owner as
  // item id + [rating, user known, user bias, user factors].
  const size_t n = got_values.size(), width = static_cast<size_t>(k) + 3;
  std::vector<int> dest(n, 0);
  for (size_t e = 0; e < n; ++e) dest[e] = owner_of_name(names[2 * e + 1], P);
  std::vector<uint8_t> bytes;
  std::vector<int64_t> byte_counts(P, 0), recv_bytes, row_counts;
  std::vector<float> values;
  for (size_t e : by_destination(dest, P, row_counts)) {
    const size_t before = bytes.size();
    pack(bytes, names[2 * e + 1]);
    byte_counts[dest[e]] += static_cast<int64_t>(bytes.size() - before);
    const int64_t u = find(part.users, names[2 * e]);
    values.push_back(got_values[e]);
    values.push_back(u >= 0 ? 1.0f : 0.0f);
    values.push_back(u >= 0 && !m.bu.empty() ? m.bu[u] : 0.0f);
    for (int j = 0; j < k; ++j) values.push_back(u >= 0 ? m.P[static_cast<size_t>(u) * k + j] : 0.0f);
  }
  for (int64_t& r : row_counts) r *= static_cast<int64_t>(width);
  const std::vector<uint8_t> got = comm.alltoall(bytes, byte_counts, &recv_bytes, "test cells to item owners");
  const std::vector<float> rows = comm.alltoall(values, row_counts, nullptr, "test cells to item owners");
  const std::vector<std::string_view> items = unpack(got, recv_bytes, nullptr);
  // 3. At the item's owner: the prediction, clipped as the model file will clip it.
  std::vector<double> s(3, 0.0);  // squared errors, absolute errors, cells
  for (size_t e = 0; e < items.size(); ++e) {
    const float* row = rows.data() + e * width;
    const int64_t i = find(part.items, items[e]);
    const bool ku = row[1] != 0.0f, ki = i >= 0;
    double pred = m.mu + row[2] + (ki && !m.bi.empty() ? m.bi[i] : 0.0f);
    if (ku && ki)
      for (int j = 0; j < k; ++j) pred += double(row[3 + j]) * m.Q[static_cast<size_t>(i) * k + j];
    if (m.clip) pred = std::clamp(pred, double(m.lo), double(m.hi));
    const double err = row[0] - pred;
    s[0] += err * err;
    s[1] += std::abs(err);
    s[2] += 1;
  }
  comm.allreduce_sum(s, "test errors");
  if (s[2] == 0) throw Error("evaluate: the test part is empty (check --split)");
  if (!std::isfinite(s[0])) throw DivergedError("a test prediction is not finite");
  return {{"rmse", std::sqrt(s[0] / s[2])}, {"mae", s[1] / s[2]}, {"n", static_cast<int64_t>(s[2])}};
}

nlohmann::json evaluate_ranking(Communicator& comm, const Partition& part,
                                const std::vector<std::vector<Ranked>>& lists, const Interactions& test,
                                DuplicatePolicy dup, int k) {
  const UserCells cells = cells_at_user_owners(comm, test, dup);
  // Held-out items per owned user; item ids numbered per user (ranked ones too) for metrics.h.
  std::vector<std::vector<std::string_view>> held(lists.size());
  for (size_t e = 0; e < cells.values.size(); ++e) {
    const int64_t u = find(part.users, cells.names[2 * e]);
    MFKIT_CHECK(u >= 0, "evaluate: every held-out cell reaches the rank that owns its user");
    held[u].push_back(cells.names[2 * e + 1]);
  }
  std::vector<double> s(6, 0.0);  // precision, recall, ndcg, map, hit rate, users
  for (size_t u = 0; u < lists.size(); ++u) {
    if (held[u].empty()) continue;
    std::vector<int32_t> rel(held[u].size()), ranked;
    for (size_t j = 0; j < rel.size(); ++j) rel[j] = static_cast<int32_t>(j);
    for (const Ranked& r : lists[u]) {
      auto it = std::find(held[u].begin(), held[u].end(), r.name);
      ranked.push_back(it != held[u].end() ? static_cast<int32_t>(it - held[u].begin())
                                           : static_cast<int32_t>(rel.size() + ranked.size()));
    }
    s[0] += precision_at_k(ranked, rel, k);
    s[1] += recall_at_k(ranked, rel, k);
    s[2] += ndcg_at_k(ranked, rel, k);
    s[3] += average_precision_at_k(ranked, rel, k);
    s[4] += hit_rate_at_k(ranked, rel, k);
    s[5] += 1;
  }
  comm.allreduce_sum(s, "ranking metrics");
  if (s[5] == 0) throw Error("evaluate: the test part is empty (no user has held-out items; check --split)");
  return {{"k", k},
          {"users", static_cast<int64_t>(s[5])},
          {"precision", s[0] / s[5]},
          {"recall", s[1] / s[5]},
          {"ndcg", s[2] / s[5]},
          {"map", s[3] / s[5]},
          {"hit_rate", s[4] / s[5]}};
}

}  // namespace mfkit::dist
