#include "mfkit/model.h"

#include <numeric>

#include "mfkit/error.h"
#include "mfkit/index.h"

namespace mfkit {

void Model::fit(const Interactions& train, const FitOptions& opt) {
  if (train.nnz() == 0) throw Error(type() + ": cannot fit on an empty matrix");
  if (opt.ctx.threads < 1) throw ParamError("threads must be at least 1");
  if (opt.validation && (opt.validation->user_ids() != train.user_ids() ||
                         opt.validation->item_ids() != train.item_ids()))
    throw Error(type() + ": the validation matrix must share the training id maps");
  index_.reset();
  do_fit(train, opt);
  users_ = train.user_ids();
  items_ = train.item_ids();
  seen_ = Csr{train.by_user().indptr, train.by_user().indices, {}, {}};
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

std::vector<std::pair<int32_t, float>> Model::explain(int32_t, int32_t, int) const {
  throw Error(type() + ": this model cannot explain its recommendations");
}

std::vector<float> Model::user_vector(int32_t user) const {
  int dim = 0;
  std::vector<float> all = user_vectors(&dim);
  if (dim == 0) throw Error(type() + ": this model has no user vectors");
  if (user < 0 || user >= n_users()) throw NotFoundError(type() + ": user index " + std::to_string(user) + " is unknown");
  return std::vector<float>(all.begin() + static_cast<size_t>(user) * dim, all.begin() + static_cast<size_t>(user + 1) * dim);
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
}

}  // namespace mfkit
