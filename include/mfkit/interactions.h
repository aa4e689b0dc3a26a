// mfkit/interactions.h - the sparse user x item matrix every model trains on.
//
// Layout: the matrix is stored twice, as CSR by user and CSR by item. Entry e of user u's row
// is (by_user().indices[e], by_user().values[e]) for e in [indptr[u], indptr[u+1]), with items
// ascending; by_item() is the same for columns. Raw ids (strings) map to dense indices through
// IdMap, shared between the train and test parts of a split.
//
// Duplicate (user, item) pairs are resolved by DuplicatePolicy when the matrix is built; the
// default keeps the last occurrence (latest timestamp, else later in the input).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace mfkit {

/// Maps raw ids (any string; integers are kept as their text) to dense indices 0..size()-1, in
/// the order they were first added. Ids written as canonical integers ("17", "-3"; not "017" or
/// "+3") are looked up without hashing their text: small non-negative ones in a table indexed by
/// value, the rest in an integer hash; any other string by its text.
class IdMap {
 public:
  /// Index of `raw`, adding it when new.
  int32_t add(std::string_view raw);
  /// Index of the id written as `id`'s decimal text (same as add(std::to_string(id))).
  int32_t add_integer(int64_t id) {
    if (id >= 0 && id < static_cast<int64_t>(table_.size()) && table_[id] >= 0) return table_[id];
    return add_integer_slow(id);
  }
  /// Fetches the table entry add_integer(id) will read (a hint; ids off the table are ignored).
  void prefetch_integer(int64_t id) const {
    if (id >= 0 && id < static_cast<int64_t>(table_.size())) __builtin_prefetch(table_.data() + id);
  }
  /// Index of `raw`, or -1 when unknown.
  int32_t find(std::string_view raw) const;
  /// Index of `raw`; throws NotFoundError naming `what` ("user", "item") when unknown.
  int32_t at(std::string_view raw, const char* what) const;
  const std::string& name(int32_t index) const { return names_.at(index); }
  int32_t size() const { return static_cast<int32_t>(names_.size()); }
  const std::vector<std::string>& names() const { return names_; }
  static std::shared_ptr<IdMap> from_names(std::vector<std::string> names);

  /// True when `s` is a canonical integer of at most 18 digits; its value goes to `out`.
  static bool canonical_integer(std::string_view s, int64_t& out);

 private:
  int32_t find_integer(int64_t id) const;
  int32_t add_integer_slow(int64_t id);
  int32_t find_text(std::string_view raw) const;
  std::vector<std::string> names_;
  std::unordered_map<std::string, int32_t> text_;  // other ids
  std::vector<int32_t> table_;                     // integer ids 0 <= v < table_.size(); -1 when absent
  std::unordered_map<int64_t, int32_t> integers_;  // integer ids outside the table
};

/// Triplets in coordinate form, with dense indices. `times` is empty or one per entry.
struct Coo {
  std::vector<int32_t> users;
  std::vector<int32_t> items;
  std::vector<float> values;
  std::vector<int64_t> times;
  size_t size() const { return users.size(); }
  void reserve(size_t n);
};

enum class DuplicatePolicy {
  kLast,   ///< keep the latest (by timestamp, else by input order)
  kSum,    ///< add the values (play counts, streams)
  kError,  ///< refuse the input
};
DuplicatePolicy parse_duplicate_policy(const std::string& name);

/// Compressed sparse rows: one layout of the matrix.
struct Csr {
  std::vector<int64_t> indptr;   ///< size rows+1
  std::vector<int32_t> indices;  ///< column of each entry, ascending within a row
  std::vector<float> values;     ///< value of each entry
  std::vector<int64_t> times;    ///< timestamp of each entry, or empty
  int32_t rows() const { return static_cast<int32_t>(indptr.size()) - 1; }
  int64_t row_size(int32_t r) const { return indptr[r + 1] - indptr[r]; }
};

class Interactions {
 public:
  Interactions() = default;
  /// Builds both layouts from triplets. Indices must lie below the id maps' sizes.
  static Interactions from_coo(const Coo& coo, std::shared_ptr<const IdMap> users, std::shared_ptr<const IdMap> items,
                               DuplicatePolicy dup = DuplicatePolicy::kLast);
  /// The same, releasing the triplets as soon as they are sorted (a loader's peak memory).
  static Interactions from_coo(Coo&& coo, std::shared_ptr<const IdMap> users, std::shared_ptr<const IdMap> items,
                               DuplicatePolicy dup = DuplicatePolicy::kLast);
  /// The same from triplets in parts taken in order (a parallel reader's pieces, never joined
  /// into one array), each released as soon as it is sorted.
  static Interactions from_coo(std::vector<Coo>&& parts, std::shared_ptr<const IdMap> users,
                               std::shared_ptr<const IdMap> items, DuplicatePolicy dup = DuplicatePolicy::kLast);
  /// Builds both layouts from a CSR by user (the item layout by one counting pass, O(nnz)).
  /// Throws Error when indptr does not start at 0 and grow to nnz, a column is outside the item
  /// map, columns are not strictly ascending within a row (a duplicate), or a value is not finite.
  static Interactions from_csr(Csr by_user, std::shared_ptr<const IdMap> users, std::shared_ptr<const IdMap> items);

  int32_t n_users() const { return users_ ? users_->size() : 0; }
  int32_t n_items() const { return items_ ? items_->size() : 0; }
  int64_t nnz() const { return static_cast<int64_t>(by_user_.indices.size()); }
  bool has_times() const { return !by_user_.times.empty(); }
  const Csr& by_user() const { return by_user_; }
  const Csr& by_item() const { return by_item_; }
  const std::shared_ptr<const IdMap>& user_ids() const { return users_; }
  const std::shared_ptr<const IdMap>& item_ids() const { return items_; }
  /// Number of duplicate pairs merged while building.
  int64_t duplicates_merged() const { return duplicates_; }

  /// Entries in user-major order (the numbering `subset` uses).
  Coo to_coo() const;
  /// The matrix with only the given user-major entries, same id maps and shape.
  Interactions subset(const std::vector<int64_t>& entries) const;
  /// Mean of all values (0 when empty).
  double mean_value() const;

 private:
  // `parts` are not modified unless `release` (then each is emptied once sorted).
  static Interactions build(const std::vector<Coo*>& parts, bool release, std::shared_ptr<const IdMap> users,
                            std::shared_ptr<const IdMap> items, DuplicatePolicy dup);
  std::shared_ptr<const IdMap> users_, items_;
  Csr by_user_, by_item_;
  int64_t duplicates_ = 0;
};

}  // namespace mfkit
