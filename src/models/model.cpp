#include "mfkit/model.h"

#include <algorithm>
#include <cmath>
#include <exception>
#include <numeric>

#include "core/huge_pages.h"
#include "mfkit/error.h"
#include "mfkit/index.h"
#include "mfkit/recommend.h"
#include "models/factors.h"

namespace mfkit {

static std::vector<int32_t> popularity_rank(const Csr& seen, int32_t n_items) {
  std::vector<int64_t> count(static_cast<size_t>(n_items), 0);
  for (int32_t i : seen.indices)
    if (i >= 0 && i < n_items) ++count[i];
  return rank_by_count(count);
}

void Model::fit(const Interactions& train, const FitOptions& opt) {
  if (train.nnz() == 0) throw Error(type() + ": cannot fit on an empty matrix");
  if (opt.ctx.threads < 1) throw ParamError("threads must be at least 1");
  if (opt.validation &&
      (opt.validation->user_ids() != train.user_ids() || opt.validation->item_ids() != train.item_ids()))
    throw Error(type() + ": the validation matrix must share the training id maps");
  index_.reset();
  do_fit(train, opt);
  users_ = train.user_ids();
  items_ = train.item_ids();
  seen_ = Csr{copy_huge(train.by_user().indptr), copy_huge(train.by_user().indices), {}, {}};
  tie_rank_ = popularity_rank(seen_, n_items());
  if (opt.labels) labels_ = *opt.labels;
}

float Model::predict_one(int32_t user, int32_t item) const {
  float out;
  predict(&user, &item, 1, &out);
  return out;
}

void Model::score(const int32_t* users, size_t n, float* out) const {
  const int32_t ni = n_items();
  std::vector<int32_t> items(ni), us(ni);
  std::iota(items.begin(), items.end(), 0);
  for (size_t k = 0; k < n; ++k) {
    std::fill(us.begin(), us.end(), users[k]);
    predict(us.data(), items.data(), ni, out + k * ni);
  }
}

void Model::score_new_user(const std::vector<int32_t>&, const std::vector<float>&, float*) const {
  throw Error(type() + ": this model cannot fold in new users");
}

std::vector<float> Model::fold_in_user(const std::vector<int32_t>&, const std::vector<float>&) const {
  throw Error(type() + ": this model cannot fold in a user's vector");
}

Csr replace_rows(const Csr& old, int32_t n, const std::vector<int32_t>& users, const Csr& rows, bool values) {
  std::vector<int64_t> row_of(static_cast<size_t>(n), -1);  // the new row that replaces each user's, if any
  for (size_t r = 0; r < users.size(); ++r) row_of[users[r]] = static_cast<int64_t>(r);
  Csr out;
  out.indptr.reserve(static_cast<size_t>(n) + 1);
  out.indptr.push_back(0);
  for (int32_t u = 0; u < n; ++u) {
    const Csr* from = row_of[u] >= 0 ? &rows : (u < old.rows() ? &old : nullptr);
    if (from) {
      int64_t r = row_of[u] >= 0 ? row_of[u] : u, b = from->indptr[r], e = from->indptr[r + 1];
      out.indices.insert(out.indices.end(), from->indices.begin() + b, from->indices.begin() + e);
      if (values) out.values.insert(out.values.end(), from->values.begin() + b, from->values.begin() + e);
    }
    out.indptr.push_back(static_cast<int64_t>(out.indices.size()));
  }
  return out;
}

void Model::update_users(const std::vector<int32_t>& users, const Csr& rows, const std::vector<std::string>& new_names,
                         const Context& ctx) {
  if (!fitted()) throw Error(type() + ": update_users needs a fitted model");
  if (ctx.threads < 1) throw ParamError("threads must be at least 1");
  if (rows.indptr.empty() || rows.rows() != static_cast<int32_t>(users.size()))
    throw ParamError("update_users: " + std::to_string(users.size()) + " users but " +
                     std::to_string(rows.indptr.empty() ? 0 : rows.rows()) + " rows of interactions");
  if (rows.values.size() != rows.indices.size() || rows.indptr.front() != 0 ||
      rows.indptr.back() != static_cast<int64_t>(rows.indices.size()))
    throw ParamError("update_users: the rows' indptr, indices and values do not agree");
  int32_t n = n_users();
  for (int32_t u : users) {
    if (u < 0) throw NotFoundError("update_users: user index " + std::to_string(u) + " is negative");
    n = std::max(n, u + 1);
  }
  if (!new_names.empty() && static_cast<int32_t>(new_names.size()) != n - n_users())
    throw ParamError("update_users: " + std::to_string(new_names.size()) + " names for " +
                     std::to_string(n - n_users()) + " added users");
  for (int32_t r = 0; r < rows.rows(); ++r)
    for (int64_t e = rows.indptr[r]; e < rows.indptr[r + 1]; ++e) {
      const int32_t i = rows.indices[e];
      if (i < 0 || i >= n_items())
        throw NotFoundError("update_users: row " + std::to_string(r) + " has item index " + std::to_string(i) +
                            ", outside the " + std::to_string(n_items()) + " items");
      if (e > rows.indptr[r] && i <= rows.indices[e - 1])
        throw ParamError("update_users: row " + std::to_string(r) + " has items out of order or repeated at " +
                         std::to_string(i));
      if (!std::isfinite(rows.values[e]))
        throw ParamError("update_users: row " + std::to_string(r) + ", item " + std::to_string(i) +
                         " holds a value that is not finite");
    }
  auto names = std::make_shared<IdMap>(*users_);
  for (int32_t u = n_users(); u < n; ++u) {
    const std::string name = new_names.empty() ? std::to_string(u) : new_names[u - n_users()];
    if (names->find(name) >= 0) throw ParamError("update_users: the added user '" + name + "' already has an index");
    names->add(name);
  }
  // Every state first, so that a failed fold-in changes nothing.
  std::vector<std::vector<float>> states(users.size());
  std::exception_ptr failed;
#pragma omp parallel for schedule(dynamic, 16) num_threads(ctx.threads)
  for (int64_t r = 0; r < static_cast<int64_t>(users.size()); ++r) {
    try {
      std::vector<int32_t> items(rows.indices.begin() + rows.indptr[r], rows.indices.begin() + rows.indptr[r + 1]);
      std::vector<float> values(rows.values.begin() + rows.indptr[r], rows.values.begin() + rows.indptr[r + 1]);
      states[r] = user_state(items, values);
    } catch (...) {
#pragma omp critical
      if (!failed) failed = std::current_exception();
    }
  }
  if (failed) std::rethrow_exception(failed);
  set_users(n, users, rows, states);
  seen_ = replace_rows(seen_, n, users, rows, false);
  tie_rank_ = popularity_rank(seen_, n_items());
  users_ = std::move(names);
}

void Model::set_users(int32_t, const std::vector<int32_t>&, const Csr&, const std::vector<std::vector<float>>&) {
  throw Error(type() + ": this model cannot refit users");
}

std::vector<std::pair<int32_t, float>> Model::explain(int32_t, int32_t, int) const {
  throw Error(type() + ": this model cannot explain its recommendations");
}

static std::vector<float> copy_of(const Model::MatrixView& v, int* dim) {
  *dim = v.data ? v.cols : 0;
  return v.data ? std::vector<float>(v.data, v.data + v.rows * v.cols) : std::vector<float>();
}

std::vector<float> Model::item_vectors(int* dim) const { return copy_of(item_view(), dim); }
std::vector<float> Model::user_vectors(int* dim) const { return copy_of(user_view(), dim); }

std::vector<float> Model::user_vector(int32_t user) const {
  const MatrixView v = user_view();
  int dim = 0;
  std::vector<float> all = v.data ? std::vector<float>() : user_vectors(&dim);
  if (v.data) dim = v.cols;
  if (dim == 0) throw Error(type() + ": this model has no user vectors");
  if (user < 0 || user >= n_users())
    throw NotFoundError(type() + ": user index " + std::to_string(user) + " is unknown");
  const float* row = (v.data ? v.data : all.data()) + static_cast<size_t>(user) * dim;
  return std::vector<float>(row, row + dim);
}

void Model::set_index(std::shared_ptr<const ItemIndex> index) {
  if (index && index->size() != n_items())
    throw Error(type() + ": the index covers " + std::to_string(index->size()) + " items, the model has " +
                std::to_string(n_items()));
  index_ = std::move(index);
}

void Model::restore_base(std::shared_ptr<const IdMap> users, std::shared_ptr<const IdMap> items, Csr seen) {
  users_ = std::move(users);
  items_ = std::move(items);
  seen_ = std::move(seen);
  tie_rank_ = popularity_rank(seen_, n_items());
}

}  // namespace mfkit
