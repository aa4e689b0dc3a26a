#include "mfkit/interactions.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "mfkit/error.h"

namespace mfkit {

int32_t IdMap::add(std::string_view raw) {
  auto [it, inserted] = index_.try_emplace(std::string(raw), static_cast<int32_t>(names_.size()));
  if (inserted) names_.emplace_back(raw);
  return it->second;
}

int32_t IdMap::find(std::string_view raw) const {
  auto it = index_.find(std::string(raw));
  return it == index_.end() ? -1 : it->second;
}

int32_t IdMap::at(std::string_view raw, const char* what) const {
  int32_t i = find(raw);
  if (i < 0) throw NotFoundError(std::string("unknown ") + what + " id '" + std::string(raw) + "'");
  return i;
}

std::shared_ptr<IdMap> IdMap::from_names(std::vector<std::string> names) {
  auto m = std::make_shared<IdMap>();
  m->index_.reserve(names.size());
  for (auto& n : names) {
    if (m->find(n) >= 0) throw Error("duplicate id '" + n + "' in id map");
    m->add(n);
  }
  return m;
}

void Coo::reserve(size_t n) {
  users.reserve(n);
  items.reserve(n);
  values.reserve(n);
}

DuplicatePolicy parse_duplicate_policy(const std::string& name) {
  if (name == "last") return DuplicatePolicy::kLast;
  if (name == "sum") return DuplicatePolicy::kSum;
  if (name == "error") return DuplicatePolicy::kError;
  throw ParamError("duplicates: '" + name + "' is not one of last|sum|error");
}

namespace {

// Builds CSR from triplets whose order is given by `order` (already sorted by row, col).
Csr build_csr(int32_t rows, const std::vector<int32_t>& row_of, const std::vector<int32_t>& col_of,
              const std::vector<float>& val, const std::vector<int64_t>& times,
              const std::vector<int64_t>& order) {
  Csr c;
  c.indptr.assign(rows + 1, 0);
  c.indices.resize(order.size());
  c.values.resize(order.size());
  if (!times.empty()) c.times.resize(order.size());
  for (size_t k = 0; k < order.size(); ++k) {
    int64_t e = order[k];
    c.indptr[row_of[e] + 1]++;
    c.indices[k] = col_of[e];
    c.values[k] = val[e];
    if (!times.empty()) c.times[k] = times[e];
  }
  for (int32_t r = 0; r < rows; ++r) c.indptr[r + 1] += c.indptr[r];
  return c;
}

// Counting sort of entries by (primary, secondary), stable.
std::vector<int64_t> sort_by(const std::vector<int32_t>& primary, int32_t n_primary,
                             const std::vector<int32_t>& secondary, int32_t n_secondary,
                             const std::vector<int64_t>& entries) {
  std::vector<int64_t> tmp(entries.size()), out(entries.size());
  auto pass = [](const std::vector<int32_t>& key, int32_t n, const std::vector<int64_t>& in,
                 std::vector<int64_t>& o) {
    std::vector<int64_t> start(n + 1, 0);
    for (int64_t e : in) start[key[e] + 1]++;
    for (int32_t i = 0; i < n; ++i) start[i + 1] += start[i];
    for (int64_t e : in) o[start[key[e]]++] = e;
  };
  pass(secondary, n_secondary, entries, tmp);
  pass(primary, n_primary, tmp, out);
  return out;
}

}  // namespace

Interactions Interactions::from_coo(const Coo& coo, std::shared_ptr<const IdMap> users,
                                    std::shared_ptr<const IdMap> items, DuplicatePolicy dup) {
  if (!users || !items) throw Error("Interactions::from_coo: id maps are required");
  const size_t n = coo.size();
  if (coo.items.size() != n || coo.values.size() != n || (!coo.times.empty() && coo.times.size() != n))
    throw Error("Interactions::from_coo: triplet arrays differ in length");
  const int32_t nu = users->size(), ni = items->size();
  for (size_t e = 0; e < n; ++e) {
    if (coo.users[e] < 0 || coo.users[e] >= nu || coo.items[e] < 0 || coo.items[e] >= ni)
      throw Error("Interactions::from_coo: entry " + std::to_string(e) + " is outside the id maps");
  }
  std::vector<int64_t> all(n);
  std::iota(all.begin(), all.end(), 0);
  std::vector<int64_t> order = sort_by(coo.users, nu, coo.items, ni, all);

  // Merge duplicates: order is stable, so among equal pairs the later input comes later.
  Interactions m;
  std::vector<float> values = coo.values;
  std::vector<int64_t> times = coo.times;
  std::vector<int64_t> kept;
  kept.reserve(n);
  for (size_t k = 0; k < order.size(); ++k) {
    int64_t e = order[k];
    if (!kept.empty()) {
      int64_t p = kept.back();
      if (coo.users[p] == coo.users[e] && coo.items[p] == coo.items[e]) {
        m.duplicates_++;
        if (dup == DuplicatePolicy::kError)
          throw Error("duplicate (user, item) pair: user '" + users->name(coo.users[e]) + "', item '" +
                      items->name(coo.items[e]) + "' (use duplicates=last or sum)");
        if (dup == DuplicatePolicy::kSum) {
          values[p] += values[e];
          if (!times.empty()) times[p] = std::max(times[p], times[e]);
        } else if (times.empty() || times[e] >= times[p]) {
          kept.back() = e;
        }
        continue;
      }
    }
    kept.push_back(e);
  }
  m.users_ = std::move(users);
  m.items_ = std::move(items);
  m.by_user_ = build_csr(nu, coo.users, coo.items, values, times, kept);
  std::vector<int64_t> by_item_order = sort_by(coo.items, ni, coo.users, nu, kept);
  m.by_item_ = build_csr(ni, coo.items, coo.users, values, times, by_item_order);
  return m;
}

Interactions Interactions::from_csr(Csr c, std::shared_ptr<const IdMap> users, std::shared_ptr<const IdMap> items) {
  if (!users || !items) throw Error("Interactions::from_csr: id maps are required");
  const int32_t nu = users->size(), ni = items->size();
  const int64_t nnz = static_cast<int64_t>(c.indices.size());
  if (static_cast<int64_t>(c.indptr.size()) != int64_t(nu) + 1)
    throw InputError("Interactions::from_csr", 0, "indptr has " + std::to_string(c.indptr.size()) + " entries, expected " +
                std::to_string(int64_t(nu) + 1) + " (users + 1)");
  if (static_cast<int64_t>(c.values.size()) != nnz || (!c.times.empty() && static_cast<int64_t>(c.times.size()) != nnz))
    throw InputError("Interactions::from_csr", 0, "indices, values and times differ in length");
  if (c.indptr.front() != 0 || c.indptr.back() != nnz)
    throw InputError("Interactions::from_csr", 0, "indptr must start at 0 and end at the number of entries");
  for (int32_t u = 0; u < nu; ++u) {
    if (c.indptr[u + 1] < c.indptr[u]) throw InputError("Interactions::from_csr", 0, "indptr decreases at row " + std::to_string(u));
    for (int64_t e = c.indptr[u]; e < c.indptr[u + 1]; ++e) {
      int32_t i = c.indices[e];
      if (i < 0 || i >= ni)
        throw InputError("Interactions::from_csr", 0, "row " + std::to_string(u) + " has column " + std::to_string(i) +
                    ", outside the " + std::to_string(ni) + " items");
      if (e > c.indptr[u] && i <= c.indices[e - 1])
        throw InputError("Interactions::from_csr", 0, "row " + std::to_string(u) + " has columns out of order or repeated at column " +
                    std::to_string(i));
      if (!std::isfinite(c.values[e]))
        throw InputError("Interactions::from_csr", 0, "row " + std::to_string(u) + ", column " + std::to_string(i) +
                    " holds a value that is not finite");
    }
  }
  // The item layout: count per column, then place entries in row order (so rows ascend).
  Csr t;
  t.indptr.assign(static_cast<size_t>(ni) + 1, 0);
  for (int32_t i : c.indices) t.indptr[i + 1]++;
  for (int32_t i = 0; i < ni; ++i) t.indptr[i + 1] += t.indptr[i];
  t.indices.resize(nnz);
  t.values.resize(nnz);
  if (!c.times.empty()) t.times.resize(nnz);
  std::vector<int64_t> next(t.indptr.begin(), t.indptr.end() - 1);
  for (int32_t u = 0; u < nu; ++u)
    for (int64_t e = c.indptr[u]; e < c.indptr[u + 1]; ++e) {
      int64_t d = next[c.indices[e]]++;
      t.indices[d] = u;
      t.values[d] = c.values[e];
      if (!c.times.empty()) t.times[d] = c.times[e];
    }
  Interactions m;
  m.users_ = std::move(users);
  m.items_ = std::move(items);
  m.by_user_ = std::move(c);
  m.by_item_ = std::move(t);
  return m;
}

Coo Interactions::to_coo() const {
  Coo c;
  c.reserve(nnz());
  for (int32_t u = 0; u < n_users(); ++u) {
    for (int64_t e = by_user_.indptr[u]; e < by_user_.indptr[u + 1]; ++e) {
      c.users.push_back(u);
      c.items.push_back(by_user_.indices[e]);
      c.values.push_back(by_user_.values[e]);
    }
  }
  c.times = by_user_.times;
  return c;
}

Interactions Interactions::subset(const std::vector<int64_t>& entries) const {
  Coo all = to_coo();
  Coo c;
  c.reserve(entries.size());
  for (int64_t e : entries) {
    c.users.push_back(all.users[e]);
    c.items.push_back(all.items[e]);
    c.values.push_back(all.values[e]);
    if (has_times()) c.times.push_back(all.times[e]);
  }
  return from_coo(c, users_, items_, DuplicatePolicy::kError);
}

double Interactions::mean_value() const {
  if (by_user_.values.empty()) return 0.0;
  double s = 0;
  for (float v : by_user_.values) s += v;
  return s / static_cast<double>(by_user_.values.size());
}

}  // namespace mfkit
