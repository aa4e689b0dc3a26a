// Test RMSE of a distributed factor model: every rank's held-out cells meet the user's row at the
// user's owner and then the item's row at the item's owner, where they are scored as one process
// scores them (Factors::predict); the errors are summed over ranks.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "dist/fit.h"
#include "mfkit/error.h"

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

}  // namespace

nlohmann::json evaluate_rating(Communicator& comm, const Partition& part, const LocalModel& m, const Interactions& test) {
  const int P = comm.size(), k = m.k;
  const Coo c = test.to_coo();
  // 1. Each cell to its user's owner: (user id, item id) and the rating.
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
  std::vector<uint8_t> got = comm.alltoall(bytes, byte_counts, &recv_bytes, "test cells to user owners");
  std::vector<float> got_values = comm.alltoall(values, counts, nullptr, "test cells to user owners");
  const std::vector<std::string_view> names = unpack(got, recv_bytes, nullptr);
  // 2. At the user's owner: the user's row joins the cell, which goes on to the item's owner as
  // item id + [rating, user known, user bias, user factors].
  const size_t n = got_values.size(), width = static_cast<size_t>(k) + 3;
  dest.assign(n, 0);
  for (size_t e = 0; e < n; ++e) dest[e] = owner_of_name(names[2 * e + 1], P);
  bytes.clear();
  byte_counts.assign(P, 0);
  values.clear();
  std::vector<int64_t> row_counts;
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
  got = comm.alltoall(bytes, byte_counts, &recv_bytes, "test cells to item owners");
  got_values = comm.alltoall(values, row_counts, nullptr, "test cells to item owners");
  const std::vector<std::string_view> items = unpack(got, recv_bytes, nullptr);
  // 3. At the item's owner: the prediction, clipped as the model file will clip it.
  std::vector<double> s(3, 0.0);  // squared errors, absolute errors, cells
  for (size_t e = 0; e < items.size(); ++e) {
    const float* row = got_values.data() + e * width;
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

}  // namespace mfkit::dist
