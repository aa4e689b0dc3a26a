// Episodes for meta-learning: disjoint user/item parts of a dataset and random sub-matrices.
#include <algorithm>
#include <numeric>
#include <unordered_map>

#include "mfkit/error.h"
#include "mfkit/meta.h"

namespace mfkit {

void EpisodeSpec::visit(ParamVisitor& v) {
  v.param("min_rows", min_rows, "fewest rows of an episode", 2, 100000);
  v.param("max_rows", max_rows, "most rows of an episode", 2, 100000);
  v.param("min_cols", min_cols, "fewest columns of an episode", 2, 100000);
  v.param("max_cols", max_cols, "most columns of an episode", 2, 100000);
  v.param("observed", observed, "fraction of an episode's known entries given as observed", 0.01, 0.99);
}

void EpisodeSpec::validate() const {
  if (min_rows > max_rows)
    throw ParamError("episodes: min_rows (" + std::to_string(min_rows) + ") > max_rows (" + std::to_string(max_rows) +
                     ")");
  if (min_cols > max_cols)
    throw ParamError("episodes: min_cols (" + std::to_string(min_cols) + ") > max_cols (" + std::to_string(max_cols) +
                     ")");
}

EpisodeSource::EpisodeSource(const Interactions& data, uint64_t seed, double train, double valid)
    : EpisodeSource(std::vector<const Interactions*>{&data}, seed, train, valid) {}

EpisodeSource::EpisodeSource(const std::vector<const Interactions*>& data, uint64_t seed, double train, double valid) {
  if (train <= 0 || valid <= 0 || train + valid >= 1)
    throw ParamError("episodes: train and valid fractions must be positive and sum to less than 1");
  if (data.empty()) throw ParamError("episodes: no dataset given");
  std::mt19937_64 rng(seed);
  auto split = [&](int32_t n, std::vector<int32_t>* parts) {
    std::vector<int32_t> ids(n);
    std::iota(ids.begin(), ids.end(), 0);
    std::shuffle(ids.begin(), ids.end(), rng);
    size_t a = static_cast<size_t>(train * n), b = static_cast<size_t>((train + valid) * n);
    parts[0].assign(ids.begin(), ids.begin() + a);
    parts[1].assign(ids.begin() + a, ids.begin() + b);
    parts[2].assign(ids.begin() + b, ids.end());
  };
  for (const Interactions* d : data) {
    Set s;
    s.data = d;
    split(d->n_users(), s.users);
    split(d->n_items(), s.items);
    s.item_part.assign(d->n_items(), -1);
    for (int p = 0; p < 3; ++p)
      for (int32_t i : s.items[p]) s.item_part[i] = p;
    for (int p = 0; p < 3; ++p)
      if (s.users[p].size() < 2 || s.items[p].size() < 2)
        throw InputError("episodes", 0, "dataset too small to split into meta-train/valid/test parts");
    sets_.push_back(std::move(s));
  }
}

Episode EpisodeSource::sample(Part part, const EpisodeSpec& spec, std::mt19937_64& rng, double observed) const {
  size_t d = sets_.size() == 1 ? 0 : std::uniform_int_distribution<size_t>(0, sets_.size() - 1)(rng);
  Episode e = sample_from(sets_[d], part, spec, rng, observed);
  e.dataset = static_cast<int32_t>(d);
  return e;
}

Episode EpisodeSource::sample_from(const Set& set, Part part, const EpisodeSpec& spec, std::mt19937_64& rng,
                                   double observed) const {
  spec.validate();
  if (observed < 0) observed = spec.observed;
  const Csr& by_user = set.data->by_user();
  const auto& pool = set.users[part];
  const auto& item_part = set.item_part;
  int n_rows = std::uniform_int_distribution<int>(spec.min_rows, spec.max_rows)(rng);
  int n_cols = std::uniform_int_distribution<int>(spec.min_cols, spec.max_cols)(rng);
  n_rows = std::min<int>(n_rows, static_cast<int>(pool.size()));
  // Rows: drawn from the part's users that rated something in the part's items.
  std::vector<int32_t> rows;
  std::unordered_map<int32_t, int> col_weight;
  for (int tries = 0; static_cast<int>(rows.size()) < n_rows && tries < n_rows * 20; ++tries) {
    int32_t u = pool[std::uniform_int_distribution<size_t>(0, pool.size() - 1)(rng)];
    if (std::find(rows.begin(), rows.end(), u) != rows.end()) continue;
    int in_part = 0;
    for (int64_t e = by_user.indptr[u]; e < by_user.indptr[u + 1]; ++e)
      in_part += item_part[by_user.indices[e]] == part;
    if (in_part == 0) continue;
    rows.push_back(u);
    for (int64_t e = by_user.indptr[u]; e < by_user.indptr[u + 1]; ++e)
      if (item_part[by_user.indices[e]] == part) ++col_weight[by_user.indices[e]];
  }
  // Columns: weighted by how many of the rows rated them, without replacement (Efraimidis-Spirakis keys).
  std::vector<std::pair<double, int32_t>> keys;
  std::uniform_real_distribution<double> unif(1e-12, 1.0);
  for (const auto& [i, w] : col_weight) keys.push_back({std::pow(unif(rng), 1.0 / w), i});
  std::sort(keys.begin(), keys.end(), [](const auto& a, const auto& b) {
    return a.first > b.first || (a.first == b.first && a.second < b.second);
  });
  if (static_cast<int>(keys.size()) > n_cols) keys.resize(n_cols);
  std::unordered_map<int32_t, int32_t> col_of;
  for (const auto& k : keys) col_of.emplace(k.second, static_cast<int32_t>(col_of.size()));
  // Entries, then drop empty rows (columns are non-empty by construction).
  struct Entry {
    int32_t r, c;
    float v;
  };
  std::vector<Entry> entries;
  std::vector<int32_t> row_of;
  for (int32_t u : rows) {
    size_t before = entries.size();
    int32_t r = static_cast<int32_t>(row_of.size());
    for (int64_t e = by_user.indptr[u]; e < by_user.indptr[u + 1]; ++e) {
      auto it = col_of.find(by_user.indices[e]);
      if (it != col_of.end()) entries.push_back({r, it->second, by_user.values[e]});
    }
    if (entries.size() > before) row_of.push_back(u);
  }
  Episode ep;
  ep.n_rows = static_cast<int32_t>(row_of.size());
  ep.n_cols = static_cast<int32_t>(col_of.size());
  ep.row_ids = row_of;
  ep.col_ids.resize(col_of.size());
  for (const auto& [i, c] : col_of) ep.col_ids[c] = i;
  std::shuffle(entries.begin(), entries.end(), rng);
  size_t n_obs = std::max<size_t>(1, static_cast<size_t>(std::llround(observed * entries.size())));
  for (size_t k = 0; k < entries.size(); ++k) {
    const Entry& x = entries[k];
    if (k < n_obs) {
      ep.s_rows.push_back(x.r), ep.s_cols.push_back(x.c), ep.s_vals.push_back(x.v);
    } else {
      ep.q_rows.push_back(x.r), ep.q_cols.push_back(x.c), ep.q_vals.push_back(x.v);
    }
  }
  return ep;
}

Episode episode_from(const Interactions& observed) {
  Episode ep;
  ep.n_rows = observed.n_users();
  ep.n_cols = observed.n_items();
  for (int32_t u = 0; u < ep.n_rows; ++u) ep.row_ids.push_back(u);
  for (int32_t i = 0; i < ep.n_cols; ++i) ep.col_ids.push_back(i);
  const Csr& m = observed.by_user();
  for (int32_t u = 0; u < ep.n_rows; ++u)
    for (int64_t e = m.indptr[u]; e < m.indptr[u + 1]; ++e) {
      if (!std::isfinite(m.values[e])) throw InputError("impute", 0, "a value is NaN or infinite");
      ep.s_rows.push_back(u), ep.s_cols.push_back(m.indices[e]), ep.s_vals.push_back(m.values[e]);
    }
  if (ep.s_vals.empty()) throw InputError("impute", 0, "the matrix has no observed entries");
  return ep;
}

double query_rmse(const Episode& e, const std::vector<float>& pred) {
  if (pred.size() != e.q_vals.size()) throw Error("query_rmse: prediction count differs from the query entries");
  if (pred.empty()) return 0;
  double s = 0;
  for (size_t k = 0; k < pred.size(); ++k) s += (double(pred[k]) - e.q_vals[k]) * (double(pred[k]) - e.q_vals[k]);
  return std::sqrt(s / pred.size());
}

}  // namespace mfkit
