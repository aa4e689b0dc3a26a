#include "mfkit/split.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include "core/hash.h"
#include "mfkit/data.h"
#include "mfkit/error.h"

namespace mfkit {

namespace {

std::vector<int64_t> shuffled(int64_t n, std::mt19937_64& rng) {
  std::vector<int64_t> v(n);
  std::iota(v.begin(), v.end(), 0);
  for (int64_t i = n - 1; i > 0; --i) {
    int64_t j = static_cast<int64_t>(rng() % static_cast<uint64_t>(i + 1));
    std::swap(v[i], v[j]);
  }
  return v;
}

Split from_masks(const Interactions& data, const std::vector<char>& is_test, std::string desc) {
  std::vector<int64_t> tr, te;
  for (int64_t e = 0; e < static_cast<int64_t>(is_test.size()); ++e) (is_test[e] ? te : tr).push_back(e);
  Split s;
  s.train = data.subset(tr);
  s.test = data.subset(te);
  s.description = std::move(desc);
  return s;
}

void check_fraction(const char* what, double f) {
  if (!(f > 0.0 && f < 1.0)) throw ParamError(fmt::format("{} = {} must be in (0, 1)", what, f));
}

}  // namespace

Split random_split(const Interactions& data, double train_fraction, uint64_t seed) {
  check_fraction("split train fraction", train_fraction);
  std::mt19937_64 rng(seed);
  auto perm = shuffled(data.nnz(), rng);
  int64_t n_train = static_cast<int64_t>(std::llround(train_fraction * data.nnz()));
  std::vector<char> is_test(data.nnz(), 0);
  for (int64_t k = n_train; k < data.nnz(); ++k) is_test[perm[k]] = 1;
  return from_masks(data, is_test,
                    fmt::format("random {:g}/{:g}, seed {}", 100 * train_fraction, 100 * (1 - train_fraction), seed));
}

bool keyed_test_cell(std::string_view user, std::string_view item, double train_fraction, uint64_t seed) {
  // splitmix64's finaliser over the two ids' FNV-1a and the seed: a pure function of the cell.
  uint64_t h = fnv1a(user) ^ (fnv1a(item) * 0x9e3779b97f4a7c15ULL) ^ (seed * 0xbf58476d1ce4e5b9ULL);
  h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ULL;
  h = (h ^ (h >> 27)) * 0x94d049bb133111ebULL;
  h ^= h >> 31;
  return static_cast<double>(h >> 11) * 0x1.0p-53 >= train_fraction;
}

Split keyed_split(const Interactions& data, double train_fraction, uint64_t seed) {
  check_fraction("split train fraction", train_fraction);
  const Coo c = data.to_coo();
  auto name = [](const std::shared_ptr<const IdMap>& ids, int32_t j) { return ids ? ids->name(j) : std::to_string(j); };
  std::vector<char> is_test(c.size(), 0);
  for (size_t e = 0; e < c.size(); ++e)
    is_test[e] =
        keyed_test_cell(name(data.user_ids(), c.users[e]), name(data.item_ids(), c.items[e]), train_fraction, seed);
  return from_masks(
      data, is_test,
      fmt::format("keyed {:g}/{:g} by (user, item, seed {})", 100 * train_fraction, 100 * (1 - train_fraction), seed));
}

Split kfold_split(const Interactions& data, int folds, int fold, uint64_t seed) {
  if (folds < 2) throw ParamError(fmt::format("kfold: folds = {} must be at least 2", folds));
  if (fold < 0 || fold >= folds) throw ParamError(fmt::format("kfold: fold = {} must be in [0, {}]", fold, folds - 1));
  std::mt19937_64 rng(seed);
  auto perm = shuffled(data.nnz(), rng);
  std::vector<char> is_test(data.nnz(), 0);
  for (int64_t k = 0; k < data.nnz(); ++k)
    if (k % folds == fold) is_test[perm[k]] = 1;
  return from_masks(data, is_test, fmt::format("{}-fold, fold {}, seed {}", folds, fold, seed));
}

Split user_holdout_split(const Interactions& data, double test_fraction, uint64_t seed, int64_t min_entries) {
  check_fraction("user holdout fraction", test_fraction);
  std::mt19937_64 rng(seed);
  const Csr& c = data.by_user();
  std::vector<char> is_test(data.nnz(), 0);
  for (int32_t u = 0; u < data.n_users(); ++u) {
    int64_t n = c.row_size(u);
    if (n < 2 || n <= min_entries) continue;
    int64_t n_test = std::max<int64_t>(1, std::llround(test_fraction * n));
    n_test = std::min(n_test, n - 1);
    auto perm = shuffled(n, rng);
    for (int64_t k = 0; k < n_test; ++k) is_test[c.indptr[u] + perm[k]] = 1;
  }
  return from_masks(data, is_test,
                    min_entries > 1 ? fmt::format("per-user holdout {:g}% of users with more than {} entries, seed {}",
                                                  100 * test_fraction, min_entries, seed)
                                    : fmt::format("per-user holdout {:g}%, seed {}", 100 * test_fraction, seed));
}

Split leave_last_out_split(const Interactions& data, int negatives, uint64_t seed) {
  if (negatives < 0) throw ParamError("loo: negatives must be >= 0");
  std::mt19937_64 rng(seed);
  const Csr& c = data.by_user();
  std::vector<char> is_test(data.nnz(), 0);
  bool by_time = data.has_times();
  for (int32_t u = 0; u < data.n_users(); ++u) {
    int64_t n = c.row_size(u);
    if (n < 2) continue;
    int64_t pick = 0;
    if (by_time) {
      // Latest timestamp; ties broken by the later item index for determinism.
      for (int64_t e = 1; e < n; ++e)
        if (c.times[c.indptr[u] + e] >= c.times[c.indptr[u] + pick]) pick = e;
    } else {
      pick = static_cast<int64_t>(rng() % static_cast<uint64_t>(n));
    }
    is_test[c.indptr[u] + pick] = 1;
  }
  Split s = from_masks(data, is_test,
                       by_time ? fmt::format("leave-last-out by timestamp, {} negatives, seed {}", negatives, seed)
                               : fmt::format("leave-one-out (no timestamps: one seeded random item per user), "
                                             "{} negatives, seed {}",
                                             negatives, seed));
  // Negatives: items the user never interacted with (in train or test), sampled uniformly.
  s.negatives.resize(data.n_users());
  const int32_t ni = data.n_items();
  std::vector<char> drawn(static_cast<size_t>(ni), 0);  // this user's negatives so far
  for (int32_t u = 0; u < data.n_users(); ++u) {
    int64_t n = c.row_size(u);
    if (s.test.by_user().row_size(u) == 0) continue;
    int64_t available = ni - n;
    int want = static_cast<int>(std::min<int64_t>(negatives, available));
    const int32_t* seen = c.indices.data() + c.indptr[u];
    std::vector<int32_t>& neg = s.negatives[u];
    while (static_cast<int>(neg.size()) < want) {
      int32_t i = static_cast<int32_t>(rng() % static_cast<uint64_t>(ni));
      if (std::binary_search(seen, seen + n, i)) continue;
      if (drawn[i]) continue;
      drawn[i] = 1;
      neg.push_back(i);
    }
    for (int32_t i : neg) drawn[i] = 0;
  }
  return s;
}

Split canonical_ml100k_split(const Interactions& data, const std::string& folder, const std::string& name) {
  static const char* names[] = {"u1", "u2", "u3", "u4", "u5", "ua", "ub"};
  if (std::find_if(std::begin(names), std::end(names), [&](const char* n) { return name == n; }) == std::end(names))
    throw ParamError("split '" + name + "': canonical MovieLens-100K splits are u1..u5, ua, ub");
  Format f = parse_format("user,item,rating,timestamp", "\t", false);
  auto map_file = [&](const std::string& path) {
    LoadResult r = load_ratings(path, f);
    Coo coo = r.data.to_coo();
    for (size_t e = 0; e < coo.size(); ++e) {
      coo.users[e] = data.user_ids()->at(r.data.user_ids()->name(coo.users[e]), "user");
      coo.items[e] = data.item_ids()->at(r.data.item_ids()->name(coo.items[e]), "item");
    }
    return Interactions::from_coo(coo, data.user_ids(), data.item_ids());
  };
  Split s;
  s.train = map_file(folder + "/" + name + ".base");
  s.test = map_file(folder + "/" + name + ".test");
  s.description = "canonical MovieLens-100K split " + name;
  return s;
}

namespace {

// `none`: all of the data trains, the test part is empty (same id maps).
Split everything_trains(Interactions data) {
  Split all;
  all.test = data.subset({});
  all.train = std::move(data);
  all.description = "none (all data trains; nothing is held out)";
  return all;
}

// Parses a spec and runs it; `owned`, when given, is `data` itself handed over: a split of
// everything moves it into the training part instead of copying it.
Split run_split(const Interactions& data, Interactions* owned, const std::string& spec, uint64_t seed,
                const std::string& folder) {
  auto colon = spec.find(':');
  std::string kind = spec.substr(0, colon);
  std::vector<std::string> args;
  while (colon != std::string::npos) {
    auto next = spec.find(':', colon + 1);
    args.push_back(spec.substr(colon + 1, next == std::string::npos ? std::string::npos : next - colon - 1));
    colon = next;
  }
  auto num = [&](size_t i, const char* what) {
    if (i >= args.size()) throw ParamError("--split '" + spec + "': missing " + what);
    try {
      size_t used = 0;
      double v = std::stod(args[i], &used);
      if (used != args[i].size()) throw std::invalid_argument("");
      return v;
    } catch (const std::exception&) {
      throw ParamError("--split '" + spec + "': " + what + " '" + args[i] + "' is not a number");
    }
  };
  // A whole number in [lo, hi] (counts, fold numbers): checked before it is cast.
  auto whole = [&](size_t i, const char* what, double lo, double hi) {
    const double v = num(i, what);
    if (v != std::floor(v) || v < lo || v > hi)
      throw ParamError(
          fmt::format("--split '{}': {} = {} must be a whole number in [{}, {}]", spec, what, args[i], lo, hi));
    return static_cast<int64_t>(v);
  };
  if (kind == "none" || (kind == "random" && args.size() == 1 && num(0, "train fraction") == 1.0)) {
    if (kind == "none" && !args.empty()) throw ParamError("--split none takes no arguments");
    return owned ? everything_trains(std::move(*owned)) : everything_trains(data);
  }
  if (kind == "random") return random_split(data, args.empty() ? 0.9 : num(0, "train fraction"), seed);
  if (kind == "hash") return keyed_split(data, args.empty() ? 0.9 : num(0, "train fraction"), seed);
  if (kind == "kfold")
    return kfold_split(data, static_cast<int>(whole(0, "folds", 2, 1000)), static_cast<int>(whole(1, "fold", 0, 999)),
                       seed);
  if (kind == "user")
    return user_holdout_split(data, num(0, "test fraction"), seed,
                              args.size() > 1 ? whole(1, "minimum entries", 0, 1e9) : 1);
  if (kind == "loo") {
    // Negatives are items the user has not seen, drawn for each test user: fewer than the items.
    const double most = std::min(10000, std::max(0, data.n_items() - 1));
    return leave_last_out_split(data, args.empty() ? 99 : static_cast<int>(whole(0, "negatives", 0, most)), seed);
  }
  if (kind.size() == 2 && kind[0] == 'u') {
    if (folder.empty()) throw ParamError("--split " + spec + ": needs the MovieLens-100K folder");
    return canonical_ml100k_split(data, folder, kind);
  }
  throw ParamError("--split '" + spec + "': unknown kind '" + kind +
                   "' (none, random:F, hash:F, kfold:K:I, user:F[:MIN], loo[:N], u1..u5|ua|ub)");
}

}  // namespace

Split make_split(const Interactions& data, const std::string& spec, uint64_t seed, const std::string& folder) {
  return run_split(data, nullptr, spec, seed, folder);
}

Split make_split(Interactions&& data, const std::string& spec, uint64_t seed, const std::string& folder) {
  return run_split(data, &data, spec, seed, folder);
}

std::pair<Interactions, Interactions> carve_validation(const Interactions& train, double fraction, uint64_t seed) {
  check_fraction("validation fraction", fraction);
  Split s = random_split(train, 1.0 - fraction, seed ^ 0x9e3779b97f4a7c15ULL);
  return {std::move(s.train), std::move(s.test)};
}

}  // namespace mfkit
