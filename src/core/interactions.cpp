#include "mfkit/interactions.h"

#include <omp.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <memory>
#include <numeric>

#include "core/counting_sort.h"
#include "core/huge_pages.h"
#include "mfkit/error.h"

namespace mfkit {

bool IdMap::canonical_integer(std::string_view s, int64_t& out) {
  bool neg = !s.empty() && s[0] == '-';
  std::string_view d = neg ? s.substr(1) : s;
  if (d.empty() || d.size() > 18 || (d[0] == '0' && (d.size() > 1 || neg))) return false;
  int64_t v = 0;
  for (char c : d) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  out = neg ? -v : v;
  return true;
}

int32_t IdMap::find_integer(int64_t id) const {
  if (id >= 0 && id < static_cast<int64_t>(table_.size()) && table_[id] >= 0) return table_[id];
  if (integers_.empty()) return -1;
  auto it = integers_.find(id);
  return it == integers_.end() ? -1 : it->second;
}

int32_t IdMap::add_integer_slow(int64_t id) {
  int32_t found = find_integer(id);
  if (found >= 0) return found;
  const int32_t index = size();
  // The table grows while it stays within a few entries per id, so sparse ids cost no memory.
  const int64_t limit = std::max<int64_t>(int64_t(1) << 20, 8 * (int64_t(index) + 1));
  if (id >= 0 && id >= static_cast<int64_t>(table_.size()) && id < limit) {
    std::vector<int32_t> bigger;  // huge pages: lookups land anywhere in it, and a 4 KiB TLB misses
    resize_huge(bigger, static_cast<size_t>(std::min(limit, std::max<int64_t>(id + 1, 2 * int64_t(table_.size())))));
    std::fill(std::copy(table_.begin(), table_.end(), bigger.begin()), bigger.end(), -1);
    table_ = std::move(bigger);
    // Ids that went to the hash while the table was smaller move into it: the most active ids
    // come first in a log, and they must not stay on the slow path for the rest of the file.
    for (auto it = integers_.begin(); it != integers_.end();) {
      if (it->first >= 0 && it->first < static_cast<int64_t>(table_.size())) {
        table_[it->first] = it->second;
        it = integers_.erase(it);
      } else {
        ++it;
      }
    }
  }
  if (id >= 0 && id < static_cast<int64_t>(table_.size()))
    table_[id] = index;
  else
    integers_.emplace(id, index);
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, id);
  names_.emplace_back(buf, r.ptr);
  return index;
}

int32_t IdMap::add(std::string_view raw) {
  int64_t v;
  if (canonical_integer(raw, v)) return add_integer(v);
  int32_t found = find_text(raw);
  if (found >= 0) return found;
  const int32_t index = size();
  text_.emplace(std::string(raw), index);
  names_.emplace_back(raw);
  return index;
}

int32_t IdMap::find(std::string_view raw) const {
  int64_t v;
  return canonical_integer(raw, v) ? find_integer(v) : find_text(raw);
}

int32_t IdMap::find_text(std::string_view raw) const {
  if (text_.empty()) return -1;
  thread_local std::string key;  // C++17 maps look up by std::string: reuse one, no allocation per call
  key.assign(raw);
  auto it = text_.find(key);
  return it == text_.end() ? -1 : it->second;
}

int32_t IdMap::at(std::string_view raw, const char* what) const {
  int32_t i = find(raw);
  if (i < 0) throw NotFoundError(std::string("unknown ") + what + " id '" + std::string(raw) + "'");
  return i;
}

std::shared_ptr<IdMap> IdMap::from_names(std::vector<std::string> names) {
  auto m = std::make_shared<IdMap>();
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

// A run of entries (row[e], col[e], val[e], time[e]), e < n; time may be null.
struct Span {
  const int32_t* row;
  const int32_t* col;
  const float* val;
  const int64_t* time;
  size_t n;
};

// True when the first non-empty part has timestamps.
bool spans_timed(const std::vector<Coo*>& parts) {
  for (const Coo* c : parts)
    if (c->size() > 0) return !c->times.empty();
  return false;
}

// Cuts each span into pieces so that there are at least `threads` of them (in order).
std::vector<Span> cut_spans(const std::vector<Span>& in, int threads) {
  std::vector<Span> out;
  const size_t per = (static_cast<size_t>(threads) + in.size() - 1) / std::max<size_t>(in.size(), 1);
  for (const Span& s : in)
    for (size_t t = 0; t < per; ++t) {
      const size_t b = s.n * t / per, e = s.n * (t + 1) / per;
      out.push_back({s.row + b, s.col + b, s.val + b, s.time ? s.time + b : nullptr, e - b});
    }
  return out;
}

// True when the spans' entries, one after the other, are sorted by (row, col).
bool spans_sorted(const std::vector<Span>& spans) {
  const Span* prev = nullptr;
  for (const Span& s : spans) {
    if (s.n == 0) continue;
    if (prev && std::make_pair(prev->row[prev->n - 1], prev->col[prev->n - 1]) > std::make_pair(s.row[0], s.col[0]))
      return false;
    bool ok = true;
#pragma omp parallel for reduction(&& : ok) if (s.n > 1000000)
    for (size_t e = 1; e < s.n; ++e)
      ok = ok && (s.row[e - 1] < s.row[e] || (s.row[e - 1] == s.row[e] && s.col[e - 1] <= s.col[e]));
    if (!ok) return false;
    prev = &s;
  }
  return true;
}

// A Csr of `rows` rows sized for n entries, its indptr from each thread's count per row; the
// counts become each thread's first free place in the row (threads in order: a stable sort).
// The arrays of `reuse` (no longer needed) are taken when they are large enough: memory already
// touched, where fresh memory costs a page fault and the kernel's zeroing per page.
Csr rows_from_counts(int32_t rows, std::vector<std::vector<int64_t>>& next, size_t n, bool timed, Csr&& reuse) {
  Csr c;
  counts_to_places(next, static_cast<size_t>(rows), c.indptr);
  auto take = [n](auto& to, auto& from) {
    if (from.capacity() >= n)
      to = std::move(from);
    else
      from = {}, reserve_huge(to, n);
    to.resize(n);
  };
  take(c.indices, reuse.indices);
  take(c.values, reuse.values);
  if (timed) take(c.times, reuse.times);
  reuse = Csr();
  return c;
}

// Room for the two-level sort's records, kept from one sort to the next (fresh memory costs a
// page fault and the kernel's zeroing per page).
struct Scratch {
  struct Record {
    int32_t row, col;
    float val;
  };
  std::unique_ptr<Record[]> records;  // not zeroed: every place is written before it is read
  std::unique_ptr<int64_t[]> times;
  size_t size = 0;
  void ensure(size_t n, bool timed) {
    if (size < n) {
      records.reset(new Record[n]), times.reset();
      size = n;
      advise_huge(records.get(), n * sizeof(Record));
    }
    if (timed && !times) times.reset(new int64_t[size]), advise_huge(times.get(), size * sizeof(int64_t));
  }
};

// Past this many rows a scatter straight to the rows misses the cache on nearly every entry (a
// place per row being filled, two or three cache lines each), and the sort goes in two levels.
constexpr int32_t kDirectRows = 1 << 16;
constexpr int kBucketBits = 10;  // at most 1024 buckets of rows in the first level

// Stable counting sort into `rows` rows of the entries of `sources` (in order), each source on
// one thread: each(t, f) calls f(row, col, val, time) for source t's entries in order. Within a
// row the entries keep their order. Up to kDirectRows rows, each entry goes straight to its
// place; past that, first to its bucket of rows (a record in `scratch`, buckets in place order),
// and then, bucket by bucket, from there to its place: both passes write to few places at once.
template <class Each>
Csr sort_into_rows(int32_t rows, int sources, int threads, size_t n, bool timed, const Each& each, Csr&& reuse,
                   Scratch& scratch) {
  const bool two_level = rows > kDirectRows && n > 1000000;
  int shift = 0;
  while (two_level && (int64_t(rows - 1) >> shift) >= (int64_t(1) << kBucketBits)) ++shift;
  const int32_t buckets = static_cast<int32_t>((int64_t(rows - 1) >> shift) + 1);
  std::vector<std::vector<int64_t>> next(sources), in_bucket(two_level ? sources : 0);
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
  for (int t = 0; t < sources; ++t) {
    next[t].assign(static_cast<size_t>(rows), 0);
    each(t, [&](int32_t r, int32_t, float, int64_t) { next[t][r]++; });
    if (two_level) {
      in_bucket[t].assign(static_cast<size_t>(buckets), 0);
      for (int32_t r = 0; r < rows; ++r) in_bucket[t][r >> shift] += next[t][r];
    }
  }
  Csr c = rows_from_counts(rows, next, n, timed, std::move(reuse));
  if (!two_level) {
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
    for (int t = 0; t < sources; ++t) {
      int64_t* slot = next[t].data();
      each(t, [&](int32_t r, int32_t col, float val, int64_t time) {
        const int64_t d = slot[r]++;
        c.indices[d] = col;
        c.values[d] = val;
        if (timed) c.times[d] = time;
      });
    }
    return c;
  }
  next = {};
  // Bucket b's records take the places of its rows, source after source.
  std::vector<int64_t> bucket_start;
  counts_to_places(in_bucket, static_cast<size_t>(buckets), bucket_start);
  scratch.ensure(n, timed);
  Scratch::Record* rec = scratch.records.get();
  int64_t* rec_time = scratch.times.get();
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
  for (int t = 0; t < sources; ++t) {
    int64_t* slot = in_bucket[t].data();
    each(t, [&](int32_t r, int32_t col, float val, int64_t time) {
      const int64_t d = slot[r >> shift]++;
      rec[d] = {r, col, val};
      if (timed) rec_time[d] = time;
    });
  }
#pragma omp parallel num_threads(threads)
  {
    std::vector<int64_t> slot(size_t(1) << shift);
#pragma omp for schedule(dynamic, 4)
    for (int32_t b = 0; b < buckets; ++b) {
      const int32_t r0 = b << shift,
                    r1 = static_cast<int32_t>(std::min<int64_t>(rows, int64_t(r0) + (int64_t(1) << shift)));
      for (int32_t r = r0; r < r1; ++r) slot[r - r0] = c.indptr[r];
      for (int64_t e = bucket_start[b]; e < bucket_start[b + 1]; ++e) {
        const int64_t d = slot[rec[e].row - r0]++;
        c.indices[d] = rec[e].col;
        c.values[d] = rec[e].val;
        if (timed) c.times[d] = rec_time[e];
      }
    }
  }
  return c;
}

// Stable counting sort of the spans' entries into rows: within a row the entries keep their
// order (span by span). O(n + rows).
Csr scatter_rows(int32_t rows, const std::vector<Span>& in, Scratch& scratch) {
  size_t n = 0;
  for (const Span& s : in) n += s.n;
  const int threads = n > 1000000 ? std::min(omp_get_max_threads(), 8) : 1;
  const std::vector<Span> spans = cut_spans(in, threads);
  bool timed = false;
  for (const Span& s : spans) timed = timed || s.time;
  auto each = [&](int t, auto&& f) {
    const Span& s = spans[t];
    for (size_t k = 0; k < s.n; ++k) f(s.row[k], s.col[k], s.val[k], s.time ? s.time[k] : 0);
  };
  return sort_into_rows(rows, static_cast<int>(spans.size()), threads, n, timed, each, Csr(), scratch);
}

// The other layout of `c` (columns become rows), rows ascending within each new row: a stable
// counting sort by column of c's entries in row order, each thread taking a range of rows. The
// result is written into `reuse`'s arrays when they are large enough.
Csr transpose(const Csr& c, int32_t cols, Scratch& scratch, Csr&& reuse = Csr()) {
  const size_t n = c.indices.size();
  const int threads = n > 1000000 ? std::min(omp_get_max_threads(), 8) : 1;
  const bool timed = !c.times.empty();
  const std::vector<int32_t> first = row_ranges(c, threads);  // thread t takes rows [first[t], first[t + 1])
  auto each = [&](int t, auto&& f) {
    for (int32_t r = first[t]; r < first[t + 1]; ++r)
      for (int64_t e = c.indptr[r]; e < c.indptr[r + 1]; ++e) f(c.indices[e], r, c.values[e], timed ? c.times[e] : 0);
  };
  return sort_into_rows(cols, threads, threads, n, timed, each, std::move(reuse), scratch);
}

}  // namespace

Interactions Interactions::from_coo(const Coo& coo, std::shared_ptr<const IdMap> users,
                                    std::shared_ptr<const IdMap> items, DuplicatePolicy dup) {
  return build({const_cast<Coo*>(&coo)}, false, std::move(users), std::move(items), dup);
}

Interactions Interactions::from_coo(Coo&& coo, std::shared_ptr<const IdMap> users, std::shared_ptr<const IdMap> items,
                                    DuplicatePolicy dup) {
  return build({&coo}, true, std::move(users), std::move(items), dup);
}

Interactions Interactions::from_coo(std::vector<Coo>&& parts, std::shared_ptr<const IdMap> users,
                                    std::shared_ptr<const IdMap> items, DuplicatePolicy dup) {
  std::vector<Coo*> p;
  for (Coo& c : parts) p.push_back(&c);
  return build(p, true, std::move(users), std::move(items), dup);
}

Interactions Interactions::build(const std::vector<Coo*>& parts, bool release, std::shared_ptr<const IdMap> users,
                                 std::shared_ptr<const IdMap> items, DuplicatePolicy dup) {
  if (!users || !items) throw Error("Interactions::from_coo: id maps are required");
  const int32_t nu = users->size(), ni = items->size();
  size_t n = 0;
  std::vector<Span> spans;
  const bool timed_parts = spans_timed(parts);
  for (const Coo* coo : parts) {
    const size_t m = coo->size();
    if (coo->items.size() != m || coo->values.size() != m || (!coo->times.empty() && coo->times.size() != m))
      throw Error("Interactions::from_coo: triplet arrays differ in length");
    if (m > 0 && coo->times.empty() == timed_parts)
      throw Error("Interactions::from_coo: some parts have timestamps and others not");
    for (size_t e = 0; e < m; ++e) {
      if (coo->users[e] < 0 || coo->users[e] >= nu || coo->items[e] < 0 || coo->items[e] >= ni)
        throw Error("Interactions::from_coo: entry " + std::to_string(n + e) + " is outside the id maps");
    }
    n += m;
    spans.push_back({coo->users.data(), coo->items.data(), coo->values.data(),
                     coo->times.empty() ? nullptr : coo->times.data(), m});
  }
  // Rows by user with items ascending, and among equal pairs the later input later: entries
  // already in that order are counted into rows once; any others are counted by item first and
  // then by user (two stable passes: a radix sort by (user, item)), and the by-item pass's arrays
  // hold the item-major layout at the end.
  Csr by_user, spare;
  Scratch scratch;
  if (spans_sorted(spans)) {
    by_user = scatter_rows(nu, spans, scratch);
    if (release)  // from here on only the rows are read
      for (Coo* coo : parts) *coo = Coo();
  } else {
    std::vector<Span> by_col;
    for (const Span& sp : spans) by_col.push_back({sp.col, sp.row, sp.val, sp.time, sp.n});
    spare = scatter_rows(ni, by_col, scratch);
    if (release)
      for (Coo* coo : parts) *coo = Coo();
    by_user = transpose(spare, nu, scratch);
  }
  // Duplicates (now side by side) are merged within each row in parallel (a row's kept entries
  // move to its front), then the rows are closed up in one serial pass of moves.
  const bool timed = !by_user.times.empty();
  std::vector<int64_t> kept(static_cast<size_t>(nu), 0);
  int64_t duplicates = 0;
  std::pair<int32_t, int32_t> first_dup{nu, 0};  // (user, item) of the first duplicate, for kError
#pragma omp parallel if (n > 100000) reduction(+ : duplicates)
  {
    std::pair<int32_t, int32_t> mine{nu, 0};
#pragma omp for schedule(dynamic, 1024)
    for (int32_t u = 0; u < nu; ++u) {
      const int64_t b = by_user.indptr[u], len = by_user.indptr[u + 1] - b;
      int32_t* col = by_user.indices.data() + b;
      float* v = by_user.values.data() + b;
      int64_t* t = timed ? by_user.times.data() + b : nullptr;
      int64_t out = 0;
      for (int64_t e = 0; e < len; ++e) {
        if (out > 0 && col[out - 1] == col[e]) {
          const int64_t p = out - 1;
          duplicates++;
          if (u < mine.first) mine = {u, col[e]};
          if (dup == DuplicatePolicy::kSum) {
            v[p] += v[e];
            if (timed) t[p] = std::max(t[p], t[e]);
          } else if (!timed || t[e] >= t[p]) {
            v[p] = v[e];
            if (timed) t[p] = t[e];
          }
          continue;
        }
        col[out] = col[e];
        v[out] = v[e];
        if (timed) t[out] = t[e];
        ++out;
      }
      kept[u] = out;
    }
#pragma omp critical
    first_dup = std::min(first_dup, mine);
  }
  if (dup == DuplicatePolicy::kError && duplicates > 0)
    throw Error("duplicate (user, item) pair: user '" + users->name(first_dup.first) + "', item '" +
                items->name(first_dup.second) + "' (use duplicates=last or sum)");
  Interactions m;
  m.duplicates_ = duplicates;
  if (duplicates > 0) {
    int64_t out = 0;
    for (int32_t u = 0; u < nu; ++u) {
      const int64_t b = by_user.indptr[u];
      by_user.indptr[u] = out;
      if (b != out) {
        std::copy_n(by_user.indices.begin() + b, kept[u], by_user.indices.begin() + out);
        std::copy_n(by_user.values.begin() + b, kept[u], by_user.values.begin() + out);
        if (timed) std::copy_n(by_user.times.begin() + b, kept[u], by_user.times.begin() + out);
      }
      out += kept[u];
    }
    by_user.indptr[nu] = out;
    by_user.indices.resize(out);
    by_user.values.resize(out);
    if (timed) by_user.times.resize(out);
  }
  m.users_ = std::move(users);
  m.items_ = std::move(items);
  m.by_item_ = transpose(by_user, ni, scratch, std::move(spare));
  m.by_user_ = std::move(by_user);
  return m;
}

Interactions Interactions::from_csr(Csr c, std::shared_ptr<const IdMap> users, std::shared_ptr<const IdMap> items) {
  if (!users || !items) throw Error("Interactions::from_csr: id maps are required");
  const int32_t nu = users->size(), ni = items->size();
  const int64_t nnz = static_cast<int64_t>(c.indices.size());
  if (static_cast<int64_t>(c.indptr.size()) != int64_t(nu) + 1)
    throw InputError("Interactions::from_csr", 0,
                     "indptr has " + std::to_string(c.indptr.size()) + " entries, expected " +
                         std::to_string(int64_t(nu) + 1) + " (users + 1)");
  if (static_cast<int64_t>(c.values.size()) != nnz || (!c.times.empty() && static_cast<int64_t>(c.times.size()) != nnz))
    throw InputError("Interactions::from_csr", 0, "indices, values and times differ in length");
  if (c.indptr.front() != 0 || c.indptr.back() != nnz)
    throw InputError("Interactions::from_csr", 0, "indptr must start at 0 and end at the number of entries");
  for (int32_t u = 0; u < nu; ++u) {
    if (c.indptr[u + 1] < c.indptr[u])
      throw InputError("Interactions::from_csr", 0, "indptr decreases at row " + std::to_string(u));
    for (int64_t e = c.indptr[u]; e < c.indptr[u + 1]; ++e) {
      int32_t i = c.indices[e];
      if (i < 0 || i >= ni)
        throw InputError("Interactions::from_csr", 0,
                         "row " + std::to_string(u) + " has column " + std::to_string(i) + ", outside the " +
                             std::to_string(ni) + " items");
      if (e > c.indptr[u] && i <= c.indices[e - 1])
        throw InputError(
            "Interactions::from_csr", 0,
            "row " + std::to_string(u) + " has columns out of order or repeated at column " + std::to_string(i));
      if (!std::isfinite(c.values[e]))
        throw InputError(
            "Interactions::from_csr", 0,
            "row " + std::to_string(u) + ", column " + std::to_string(i) + " holds a value that is not finite");
    }
  }
  Scratch scratch;
  Csr t = transpose(c, ni, scratch);
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
  // Entries number the by-user layout; each one's user found by its row pointers, so a small
  // subset of a large matrix costs its own size, not a copy of everything.
  const auto& ip = by_user_.indptr;
  Coo c;
  c.reserve(entries.size());
  for (int64_t e : entries) {
    c.users.push_back(static_cast<int32_t>(std::upper_bound(ip.begin(), ip.end(), e) - ip.begin() - 1));
    c.items.push_back(by_user_.indices[e]);
    c.values.push_back(by_user_.values[e]);
    if (has_times()) c.times.push_back(by_user_.times[e]);
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
