#include "mfkit/recommend.h"

#include <algorithm>
#include <cmath>
#include <exception>
#include <limits>
#include <numeric>
#include <optional>

#include "core/check.h"
#include "kernels/scores.h"
#include "mfkit/error.h"
#include "mfkit/index.h"

namespace mfkit {

std::vector<int32_t> rank_by_count(const std::vector<int64_t>& count) {
  const int32_t n = static_cast<int32_t>(count.size());
  std::vector<int32_t> order(count.size()), rank(count.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int32_t a, int32_t b) { return count[a] > count[b]; });
  for (int32_t r = 0; r < n; ++r) rank[order[r]] = r;
  return rank;
}

namespace {

// The options' item filters, checked once: excluded items and, when candidates are given, a
// mask of the allowed ones.
struct ItemFilter {
  const RecommendOptions& opt;
  std::vector<char> allowed;
  std::vector<int32_t> excluded;  // sorted, distinct
  int64_t n_allowed;              // items the candidate list leaves (all when it is empty)
  const int32_t* tie;             // top_k's tie order, or null for index order
  ItemFilter(const RecommendOptions& o, int32_t ni, const int32_t* tie_rank) : opt(o), n_allowed(ni), tie(tie_rank) {
    if (opt.k < 1) throw ParamError("recommend: k must be at least 1");
    for (int32_t i : opt.exclude)
      if (i < 0 || i >= ni) throw NotFoundError("recommend: excluded item index " + std::to_string(i) + " is unknown");
    if (!opt.candidates.empty()) {
      allowed.assign(ni, 0);
      for (int32_t i : opt.candidates) {
        if (i < 0 || i >= ni)
          throw NotFoundError("recommend: candidate item index " + std::to_string(i) + " is unknown");
        allowed[i] = 1;
      }
      n_allowed = std::count(allowed.begin(), allowed.end(), 1);
    }
    excluded = opt.exclude;
    std::sort(excluded.begin(), excluded.end());
    excluded.erase(std::unique(excluded.begin(), excluded.end()), excluded.end());
  }
  // True when item i may be recommended to a user whose filtered items are `own` (sorted).
  bool passes(int32_t i, const std::vector<int32_t>& own) const {
    if (!allowed.empty() && !allowed[i]) return false;
    if (std::binary_search(excluded.begin(), excluded.end(), i)) return false;
    return !std::binary_search(own.begin(), own.end(), i);
  }
  // Filters one row of scores (seen items in [seen, seen_end)) and keeps the best k.
  std::vector<Scored> top(float* s, int32_t ni, const int32_t* seen, const int32_t* seen_end) const {
    const float ninf = -std::numeric_limits<float>::infinity();
    if (opt.filter_seen)
      for (const int32_t* i = seen; i != seen_end; ++i) s[*i] = ninf;
    for (int32_t i : opt.exclude) s[i] = ninf;
    if (!allowed.empty())
      for (int32_t i = 0; i < ni; ++i)
        if (!allowed[i]) s[i] = ninf;
    return top_k(s, ni, opt.k, tie);
  }
};

// Scored candidates of one user by the model's own predictions, best first (ties as top_k), k kept.
std::vector<Scored> rescore(const Model& model, int32_t user, const std::vector<int32_t>& items, int k) {
  std::vector<int32_t> us(items.size(), user);
  std::vector<float> s(items.size());
  model.predict(us.data(), items.data(), items.size(), s.data());
  std::vector<Scored> out;
  for (size_t j = 0; j < items.size(); ++j)
    if (!std::isnan(s[j]) && s[j] != -std::numeric_limits<float>::infinity()) out.push_back({items[j], s[j]});
  const Better better{model.tie_rank()};
  if (static_cast<int>(out.size()) > k) {
    std::partial_sort(out.begin(), out.begin() + k, out.end(), better);
    out.resize(k);
  } else {
    std::sort(out.begin(), out.end(), better);
  }
  return out;
}

// What `search(n)` proposes (best first) that passes `keep`: n starts at `first` and doubles
// while fewer than k pass; nullopt once more than a quarter of the catalogue would be fetched
// (the exact scan is then the cheaper answer).
template <class Search, class Keep>
auto over_fetch(int32_t ni, int k, double first, Search search, Keep keep) -> std::optional<decltype(search(1))> {
  int64_t n = std::min<int64_t>(ni, static_cast<int64_t>(first));
  while (true) {
    decltype(search(1)) kept;
    for (const auto& x : search(static_cast<int>(n)))
      if (keep(x)) kept.push_back(x);
    if (static_cast<int>(kept.size()) >= k || n >= ni) return kept;
    if (n * 4 > ni) return std::nullopt;
    n *= 2;
  }
}

// One known user's top-k through the index (see recommend.h); false when the exact scan should
// answer instead (filters that remove half the catalogue or more).
bool approximate_top(const Model& model, const ItemIndex& index, const ItemFilter& filter, int32_t user,
                     const int32_t* seen, const int32_t* seen_end, std::vector<Scored>& out) {
  const int32_t ni = model.n_items();
  const int k = filter.opt.k;
  std::vector<int32_t> own;
  if (filter.opt.filter_seen) {
    own.assign(seen, seen_end);
    std::sort(own.begin(), own.end());
    own.erase(std::unique(own.begin(), own.end()), own.end());
  }
  if (!filter.allowed.empty() && filter.n_allowed * 8 <= ni) {
    // A short candidate list: score just those, exactly.
    std::vector<int32_t> items;
    for (int32_t i : filter.opt.candidates)
      if (filter.passes(i, own)) items.push_back(i);
    std::sort(items.begin(), items.end());
    items.erase(std::unique(items.begin(), items.end()), items.end());
    out = rescore(model, user, items, k);
    return true;
  }
  const int64_t removed = (ni - filter.n_allowed) + static_cast<int64_t>(own.size() + filter.excluded.size());
  if (removed * 2 >= ni) return false;
  const double share = static_cast<double>(filter.n_allowed) / ni;
  std::vector<float> q = model.user_vector(user);
  q.push_back(1.0f);
  auto kept = over_fetch(
      ni, k, std::ceil((k + own.size() + filter.excluded.size()) / share) + k,
      [&](int n) { return index.top_inner_product(q.data(), n); }, [&](int32_t i) { return filter.passes(i, own); });
  if (!kept) return false;
  out = rescore(model, user, *kept, k);
  return true;
}

}  // namespace

std::vector<std::vector<Scored>> recommend(const Model& model, const std::vector<int32_t>& users,
                                           const RecommendOptions& opt, const Context& ctx) {
  const int32_t ni = model.n_items();
  ItemFilter filter(opt, ni, model.tie_rank());
  for (int32_t u : users)
    if (u < 0 || u >= model.n_users())
      throw NotFoundError("recommend: user index " + std::to_string(u) + " is unknown");
  if (opt.seen) {
    if (opt.seen->rows() != static_cast<int32_t>(users.size()))
      throw ParamError("recommend: the seen-item matrix has " + std::to_string(opt.seen->rows()) + " rows for " +
                       std::to_string(users.size()) + " users");
    for (int32_t i : opt.seen->indices)
      if (i < 0 || i >= ni) throw NotFoundError("recommend: seen item index " + std::to_string(i) + " is unknown");
  }
  std::vector<std::vector<Scored>> out(users.size());
  const Csr& seen_rows = opt.seen ? *opt.seen : model.seen();
  if (model.index() && !opt.exact) {
    const ItemIndex& index = *model.index();
    std::exception_ptr failed;
#pragma omp parallel for schedule(dynamic, 16) num_threads(ctx.threads)
    for (int64_t r = 0; r < static_cast<int64_t>(users.size()); ++r) {
      try {
        int64_t row_of = opt.seen ? r : users[r];
        const int32_t* row = seen_rows.indices.data();
        const int32_t *b = row + seen_rows.indptr[row_of], *e = row + seen_rows.indptr[row_of + 1];
        if (!approximate_top(model, index, filter, users[r], b, e, out[r])) {
          std::vector<float> scores(ni);
          model.score(&users[r], 1, scores.data());
          out[r] = filter.top(scores.data(), ni, b, e);
        }
      } catch (...) {
#pragma omp critical
        if (!failed) failed = std::current_exception();
      }
    }
    if (failed) std::rethrow_exception(failed);
    return out;
  }
  const int64_t block = 128;
  const int64_t n_blocks = (static_cast<int64_t>(users.size()) + block - 1) / block;
#pragma omp parallel for schedule(dynamic, 1) num_threads(ctx.threads)
  for (int64_t b = 0; b < n_blocks; ++b) {
    int64_t begin = b * block, end = std::min<int64_t>(begin + block, users.size());
    std::vector<float> scores(static_cast<size_t>(end - begin) * ni);
    model.score(users.data() + begin, end - begin, scores.data());
    const Csr& seen = opt.seen ? *opt.seen : model.seen();
    for (int64_t r = begin; r < end; ++r) {
      int64_t row_of = opt.seen ? r : users[r];
      const int32_t* row = seen.indices.data();
      out[r] =
          filter.top(scores.data() + (r - begin) * ni, ni, row + seen.indptr[row_of], row + seen.indptr[row_of + 1]);
    }
  }
  return out;
}

std::vector<Scored> recommend_new_user(const Model& model, const std::vector<int32_t>& items,
                                       const std::vector<float>& values, const RecommendOptions& opt) {
  const int32_t ni = model.n_items();
  ItemFilter filter(opt, ni, model.tie_rank());
  for (int32_t i : items)
    if (i < 0 || i >= ni) throw NotFoundError("recommend: item index " + std::to_string(i) + " is unknown");
  std::vector<float> scores(ni);
  model.score_new_user(items, values, scores.data());
  return filter.top(scores.data(), ni, items.data(), items.data() + items.size());
}

std::vector<std::vector<Scored>> recommend_new_users(const Model& model, const Csr& rows, const RecommendOptions& opt,
                                                     const Context& ctx) {
  const int64_t n = rows.rows();
  std::vector<std::vector<Scored>> out(n);
  std::exception_ptr failed;
#pragma omp parallel for schedule(dynamic, 4) num_threads(ctx.threads)
  for (int64_t r = 0; r < n; ++r) {
    try {
      std::vector<int32_t> items(rows.indices.begin() + rows.indptr[r], rows.indices.begin() + rows.indptr[r + 1]);
      std::vector<float> values(rows.values.begin() + rows.indptr[r], rows.values.begin() + rows.indptr[r + 1]);
      out[r] = recommend_new_user(model, items, values, opt);
    } catch (...) {
#pragma omp critical
      if (!failed) failed = std::current_exception();
    }
  }
  if (failed) std::rethrow_exception(failed);
  return out;
}

namespace {
// A model's item (user) vectors: a view of its own storage, or a copy when it computes them.
struct Vectors {
  std::vector<float> owned;
  const float* data = nullptr;
  int64_t rows = 0;
  int dim = 0;
};

Vectors vectors_of(const Model& m, bool items) {
  Vectors v;
  const Model::MatrixView view = items ? m.item_view() : m.user_view();
  if (view.data) {
    v.data = view.data, v.rows = view.rows, v.dim = view.cols;
    return v;
  }
  v.owned = items ? m.item_vectors(&v.dim) : m.user_vectors(&v.dim);
  v.data = v.owned.data();
  v.rows = v.dim > 0 ? static_cast<int64_t>(v.owned.size()) / v.dim : 0;
  return v;
}
}  // namespace

static std::vector<std::vector<Scored>> cosine_neighbours(const Vectors& v, int32_t n,
                                                          const std::vector<int32_t>& queries,
                                                          const RecommendOptions& opt, const char* what,
                                                          const int32_t* tie) {
  const float* vecs = v.data;
  const int dim = v.dim;
  if (dim == 0) throw Error(std::string("similar: this model has no ") + what + " vectors");
  MFKIT_CHECK(v.rows >= n, std::string("similar: a vector for every ") + what);
  for (int32_t self : queries)
    if (self < 0 || self >= n) throw NotFoundError(std::string("similar: ") + what + " index out of range");
  if (opt.k < 1) throw ParamError("similar: k must be at least 1");
  ItemFilter filter(opt, n, tie);
  std::vector<float> norms(n);
  for (int32_t i = 0; i < n; ++i) {
    double s = 0;
    for (int d = 0; d < dim; ++d) s += double(vecs[size_t(i) * dim + d]) * vecs[size_t(i) * dim + d];
    norms[i] = static_cast<float>(std::sqrt(s));
  }
  std::vector<std::vector<Scored>> out;
  std::vector<float> scores(n);
  for (int32_t self : queries) {
    const float* q = vecs + size_t(self) * dim;
    for (int32_t i = 0; i < n; ++i) {
      double s = 0;
      for (int d = 0; d < dim; ++d) s += double(q[d]) * vecs[size_t(i) * dim + d];
      float denom = norms[i] * norms[self];
      scores[i] = denom > 0 ? static_cast<float>(s / denom) : 0.0f;
    }
    scores[self] = -std::numeric_limits<float>::infinity();
    out.push_back(filter.top(scores.data(), n, nullptr, nullptr));
  }
  return out;
}

std::vector<std::vector<Scored>> similar_items(const Model& model, const std::vector<int32_t>& items,
                                               const RecommendOptions& opt) {
  const ItemIndex* index = model.index().get();
  if (index && index->has_cosine() && !opt.exact) {
    const int32_t ni = model.n_items();
    if (opt.k < 1) throw ParamError("similar: k must be at least 1");
    ItemFilter filter(opt, ni, model.tie_rank());
    const int64_t removed = (ni - filter.n_allowed) + static_cast<int64_t>(filter.excluded.size());
    if (removed * 2 < ni) {
      const double share = static_cast<double>(filter.n_allowed) / ni;
      std::vector<std::vector<Scored>> out;
      for (int32_t self : items) {
        if (self < 0 || self >= ni) throw NotFoundError("similar: item index out of range");
        const std::vector<int32_t> own{self};
        auto kept = over_fetch(
            ni, opt.k, std::ceil((opt.k + 1 + filter.excluded.size()) / share) + opt.k,
            [&](int n) { return index->nearest_cosine_to(self, n); },
            [&](const std::pair<int32_t, float>& x) { return filter.passes(x.first, own); });
        if (!kept) {  // filters that remove most of the neighbourhood: compare with every item
          RecommendOptions one = opt;
          one.exact = true;
          out.push_back(similar_items(model, std::vector<int32_t>{self}, one)[0]);
          continue;
        }
        std::vector<Scored> best;
        for (size_t j = 0; j < kept->size() && static_cast<int>(j) < opt.k; ++j)
          best.push_back({(*kept)[j].first, (*kept)[j].second});
        out.push_back(std::move(best));
      }
      return out;
    }
  }
  return cosine_neighbours(vectors_of(model, true), model.n_items(), items, opt, "item", model.tie_rank());
}

std::vector<std::vector<Scored>> similar_users(const Model& model, const std::vector<int32_t>& users,
                                               const RecommendOptions& opt) {
  const Vectors v = vectors_of(model, false);
  // Ties among users fall by their training count, then index, as items' do.
  std::vector<int64_t> count(static_cast<size_t>(model.n_users()), 0);
  const Csr& seen = model.seen();
  for (int32_t u = 0; u < model.n_users() && u < seen.rows(); ++u) count[u] = seen.indptr[u + 1] - seen.indptr[u];
  const std::vector<int32_t> rank = rank_by_count(count);
  return cosine_neighbours(v, model.n_users(), users, opt, "user", rank.empty() ? nullptr : rank.data());
}

std::vector<Scored> similar_items(const Model& model, int32_t item, int k) {
  RecommendOptions opt;
  opt.k = k;
  return similar_items(model, std::vector<int32_t>{item}, opt)[0];
}

std::vector<Scored> similar_users(const Model& model, int32_t user, int k) {
  RecommendOptions opt;
  opt.k = k;
  return similar_users(model, std::vector<int32_t>{user}, opt)[0];
}

}  // namespace mfkit
