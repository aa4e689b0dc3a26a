// mfkit/model.h - the interface every recommender implements.
//
// Usage:
//   auto model = mfkit::create_model("biased-mf");
//   model->set_params({{"factors", 128}});
//   model->fit(split.train, {ctx, &valid, on_epoch});
//   float r = model->predict_one(u, i);           // dense indices of the training id maps
//   auto top = mfkit::recommend(*model, u, 10);   // see recommend.h
//   mfkit::save_model(*model, "m.mfk");           // see model_file.h
//
// Models are thin: the heavy loops are free-function kernels in src/kernels/. A model keeps
// the id maps and the seen-item matrix of the data it was fitted on, so a saved model can
// answer for raw ids and filter seen items without the data. Thread safety: const methods may
// be called from many threads at once; fit/load may not run beside anything else.
#pragma once

#include <nlohmann/json.hpp>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "mfkit/context.h"
#include "mfkit/interactions.h"
#include "mfkit/labels.h"
#include "mfkit/params.h"

namespace mfkit {

struct Tensor;
class ItemIndex;
using TensorMap = std::map<std::string, Tensor>;

/// What a model reports after each epoch.
struct EpochInfo {
  int epoch = 0;                       ///< 1-based
  int epochs = 0;                      ///< planned total (an upper bound with early stopping)
  double seconds = 0;                  ///< wall time of this epoch
  double train_loss = 0;               ///< the model's objective, or train RMSE for rating models
  bool has_train_loss = true;          ///< false when the model was asked not to compute it (train_loss is 0)
  std::optional<double> valid_rmse;    ///< rating models, when a validation matrix was given
  std::optional<double> valid_auc;     ///< ranking models that stop early on it (bpr), likewise
  std::optional<double> monitor_rmse;  ///< RMSE on FitOptions::monitor, when given (never used to decide)
};
/// Called after every epoch; return false to stop training.
using EpochCallback = std::function<bool(const EpochInfo&)>;

struct FitOptions {
  Context ctx;
  const Interactions* validation = nullptr;  ///< optional, same id maps as the training data
  EpochCallback on_epoch;                    ///< optional
  const Labels* labels = nullptr;            ///< optional side data (item titles, categories)
  /// Optional, same id maps: its RMSE is reported after every epoch (EpochInfo::monitor_rmse) and
  /// used for nothing else: a time-to-quality curve on the test part (rating models with epochs).
  const Interactions* monitor = nullptr;
};

class Model {
 public:
  virtual ~Model() = default;

  /// Registered name, e.g. "biased-mf".
  virtual std::string type() const = 0;
  /// Current parameters as JSON (every key, defaults included).
  virtual nlohmann::json params() const = 0;
  /// Sets the given keys; ParamError for unknown keys, wrong types or out-of-range values.
  virtual void set_params(const nlohmann::json& p) = 0;
  /// True for models of implicit feedback (ranked, not rating-predicted).
  virtual bool implicit() const { return false; }
  /// What the last fit chose by itself on its validation part (nnmf: the blend weight, the
  /// resolved lambda); empty for models that choose nothing. Reported by `mfkit train`.
  virtual nlohmann::json chosen() const { return nlohmann::json::object(); }

  /// Fits on `train`. Keeps its id maps and seen items. Throws DivergedError on NaN.
  void fit(const Interactions& train, const FitOptions& opt = {});

  /// Predicted values for (user, item) pairs of dense indices; an index of -1 (unknown) falls
  /// back to what the model knows (global mean, item or user bias).
  virtual void predict(const int32_t* users, const int32_t* items, size_t n, float* out) const = 0;
  float predict_one(int32_t user, int32_t item) const;
  /// Scores of every item for each of `n` users, row-major n x n_items(); higher is better.
  virtual void score(const int32_t* users, size_t n, float* out) const;

  int32_t n_users() const { return users_ ? users_->size() : 0; }
  int32_t n_items() const { return items_ ? items_->size() : 0; }
  const std::shared_ptr<const IdMap>& user_ids() const { return users_; }
  const std::shared_ptr<const IdMap>& item_ids() const { return items_; }
  /// Items each user had in the training data (CSR by user, values dropped).
  const Csr& seen() const { return seen_; }
  /// How top-N answers break ties: tie_rank()[i] is item i's place when items are ordered by
  /// training count (descending), then index; the lower place comes first. Null before fit.
  const int32_t* tie_rank() const { return tie_rank_.empty() ? nullptr : tie_rank_.data(); }
  bool fitted() const { return users_ != nullptr; }
  /// Names, titles and categories, kept from fit() and stored in model files.
  const Labels& labels() const { return labels_; }
  void set_labels(Labels l) { labels_ = std::move(l); }

  /// Scores of every item for a user known only by these interactions (fold-in of a new or
  /// updated user: its vector is solved with the item side fixed). Throws Error when the model
  /// cannot fold in.
  virtual void score_new_user(const std::vector<int32_t>& items, const std::vector<float>& values, float* out) const;
  /// The vector (user_vectors() layout) that fold-in gives a user known only by these
  /// interactions. Throws Error when the model cannot fold in or has no user vectors.
  virtual std::vector<float> fold_in_user(const std::vector<int32_t>& items, const std::vector<float>& values) const;
  /// Partial refit of users with the item side fixed (implicit's partial_fit_users): row r of
  /// `rows` (strictly increasing items, finite values) becomes user users[r]'s seen items and its
  /// vector the fold-in of them; a repeated user takes its last row. Indices from n_users() up
  /// add users, named by `new_names` (one per added index, in order) or else by their index;
  /// added users without a row get a zero vector and no items. The approximate index is kept
  /// (it covers items only). Nothing changes on error: ParamError or NotFoundError for bad
  /// input, Error when the model cannot refit users.
  void update_users(const std::vector<int32_t>& users, const Csr& rows, const std::vector<std::string>& new_names = {},
                    const Context& ctx = {});
  /// Why `item` scores as it does for `user`: the user's training items with their share of the
  /// score, largest first (Hu-Koren-Volinsky section 5). Throws Error when the model cannot explain.
  virtual std::vector<std::pair<int32_t, float>> explain(int32_t user, int32_t item, int k) const;

  /// Item (user) vectors for similarity, read in place: n_items (n_users) x cols, row-major, in
  /// the model's own storage (valid while the model lives and is not fitted again). Empty (data
  /// null) when the model stores none; item_vectors() may still compute them.
  struct MatrixView {
    const float* data = nullptr;
    int64_t rows = 0;
    int cols = 0;
  };
  virtual MatrixView item_view() const { return {}; }
  virtual MatrixView user_view() const { return {}; }
  /// Item vectors for similarity (n_items x dim, row-major), or empty when the model has none: a
  /// copy (the default copies item_view(); a model that computes them overrides it).
  virtual std::vector<float> item_vectors(int* dim) const;
  virtual std::vector<float> user_vectors(int* dim) const;
  /// One row of user_vectors() (the default copies them all: models override it).
  virtual std::vector<float> user_vector(int32_t user) const;
  /// For approximate search (index.h): when score(u, i) ranks items as <[v, 1], key_i>, with v
  /// the user's vector (user_vector(), or fold_in_user() for a new user), the keys (n_items x
  /// *dim, *dim = vector width + 1, the last column the item's bias or 0); else empty, *dim 0.
  virtual std::vector<float> item_keys(int* dim) const {
    *dim = 0;
    return {};
  }

  /// The approximate top-N index, when one was built or loaded; recommend() and similar_items
  /// use it unless asked for the exact answer. fit() drops it (it would describe the old items).
  const std::shared_ptr<const ItemIndex>& index() const { return index_; }
  /// Attaches an index built for this model (Error when its item count differs); null drops it.
  void set_index(std::shared_ptr<const ItemIndex> index);

  /// Serialisation of the learned state (id maps and seen items are handled by save_model). The
  /// tensors may borrow the model's arrays (Tensor::borrow): use them before the model changes.
  virtual void save_tensors(TensorMap& out) const = 0;
  virtual void load_tensors(const TensorMap& in) = 0;
  /// Restores what fit() keeps (used by load_model).
  void restore_base(std::shared_ptr<const IdMap> users, std::shared_ptr<const IdMap> items, Csr seen);

 protected:
  virtual void do_fit(const Interactions& train, const FitOptions& opt) = 0;
  /// update_users' model half. user_state: what a user known by these interactions stores
  /// (default fold_in_user). set_users: grows the user side to n users (new ones zero) and sets
  /// users[r]'s state to states[r] (their rows are `rows`); it must not fail half-way. The
  /// default set_users throws Error (the model cannot refit users).
  virtual std::vector<float> user_state(const std::vector<int32_t>& items, const std::vector<float>& values) const {
    return fold_in_user(items, values);
  }
  virtual void set_users(int32_t n, const std::vector<int32_t>& users, const Csr& rows,
                         const std::vector<std::vector<float>>& states);

 private:
  std::shared_ptr<const IdMap> users_, items_;
  Csr seen_;
  std::vector<int32_t> tie_rank_;
  Labels labels_;
  std::shared_ptr<const ItemIndex> index_;
};

/// Implements the parameter methods of Model from a parameter struct P (see params.h).
template <class P>
class ModelWithParams : public Model {
 public:
  using Params = P;
  nlohmann::json params() const override {
    P copy = p_;
    return params_to_json(copy);
  }
  void set_params(const nlohmann::json& j) override {
    P next = p_;
    params_from_json(next, j, type());
    next.validate();
    p_ = next;
  }
  const P& param_struct() const { return p_; }

 protected:
  P p_;
};

/// Threads of the libtorch models' own inner loops (process-wide; the BLAS underneath stays at
/// one). A server answering requests on many threads sets 1, so requests never nest threads.
void set_neural_threads(int threads);

}  // namespace mfkit
