// mfkit/meta.h - meta-learned matrix factorization for unseen matrices (Iwata, arXiv 2106.15133).
//
// An encoder reads a whole partially observed matrix and outputs, for every row and column, the
// prior mean (and precision) of its factors; the factors then take T gradient steps of MAP
// estimation (squared error on the observed entries + the Gaussian prior), each step written in
// closed form so the error on held-out entries back-propagates through the steps into the
// encoder. The encoder is built from permutation-equivariant matrix layers (Hartford et al.,
// 2018): each entry's features are mixed with the means over its row, its column and the whole
// matrix, so the answer does not depend on the order of rows or columns, and the same network
// reads matrices of any size. Meta-training samples episodes: sub-matrices of rating datasets
// whose rows and columns are disjoint between meta-train, meta-validation and meta-test.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "mfkit/context.h"
#include "mfkit/interactions.h"
#include "mfkit/params.h"

namespace mfkit {

/// A small matrix with dense local indices: observed (support) and held-out (query) entries.
struct Episode {
  int32_t n_rows = 0, n_cols = 0;
  int32_t dataset = 0;                    ///< which of the source's datasets it was drawn from
  std::vector<int32_t> row_ids, col_ids;  ///< the source matrix's index of each local row/column
  std::vector<int32_t> s_rows, s_cols, q_rows, q_cols;
  std::vector<float> s_vals, q_vals;
};

struct EpisodeSpec {
  int min_rows = 20;  // rows per episode: uniform in [min_rows, max_rows]
  int max_rows = 60;
  int min_cols = 20;  // columns per episode: uniform in [min_cols, max_cols]
  int max_cols = 60;
  double observed = 0.3;  // fraction of the sub-matrix's known entries given as observed (support)
  void visit(ParamVisitor& v);
  void validate() const;
};

/// Users and items of one or more datasets, each split three ways, disjoint: episodes drawn
/// from different parts share no row and no column.
class EpisodeSource {
 public:
  /// Random disjoint parts of each dataset's users and items (fractions for meta-train and
  /// meta-validation; the rest is meta-test). The datasets must outlive the source.
  EpisodeSource(const Interactions& data, uint64_t seed, double train = 0.6, double valid = 0.2);
  EpisodeSource(const std::vector<const Interactions*>& data, uint64_t seed, double train = 0.6, double valid = 0.2);
  enum Part { kTrain = 0, kValid = 1, kTest = 2 };
  /// A random episode from one part of a dataset drawn uniformly. Columns are drawn in
  /// proportion to how often the drawn rows rated them, so episodes are dense enough to learn
  /// from; empty rows are kept out. `observed` overrides spec.observed when >= 0.
  Episode sample(Part part, const EpisodeSpec& spec, std::mt19937_64& rng, double observed = -1) const;
  const std::vector<int32_t>& users(Part p, size_t dataset = 0) const { return sets_.at(dataset).users[p]; }
  const std::vector<int32_t>& items(Part p, size_t dataset = 0) const { return sets_.at(dataset).items[p]; }
  size_t datasets() const { return sets_.size(); }

 private:
  struct Set {
    const Interactions* data;
    std::vector<int32_t> users[3], items[3];
    std::vector<int32_t> item_part;  // part of each item
  };
  std::vector<Set> sets_;
  Episode sample_from(const Set& s, Part part, const EpisodeSpec& spec, std::mt19937_64& rng, double observed) const;
};

/// An episode from an Interactions matrix given whole as observed (for imputation).
Episode episode_from(const Interactions& observed);

struct MetaMfParams {
  int factors = 8;               // K: factor dimension
  int layers = 3;                // exchangeable layers in the encoder
  int width = 32;                // channels per encoder layer
  int steps = 10;                // T: gradient steps of MAP estimation (0 = the encoder's prior alone)
  double step_size = 0.3;        // initial step size (learned when learn_step is true)
  bool learn_step = true;        // meta-learn the step size and the prior precision
  double prior_precision = 1.0;  // initial Gaussian prior precision of the factors
  bool encoder = true;           // false: a learned shared initialisation instead (MAML-style baseline)
  double learning_rate = 1e-3;   // Adam, meta-training
  int batch = 4;                 // episodes per meta-training step
  int max_steps = 20000;         // meta-training steps (upper bound)
  int eval_every = 250;          // meta-validation every this many steps
  int patience = 8;              // evaluations without validation gain before stopping (best restored)
  int valid_episodes = 64;       // fixed meta-validation episodes
  double max_minutes = 18;       // wall-clock bound on meta-training
  void visit(ParamVisitor& v);
  void validate() const;
};

struct MetaTrainInfo {
  int step = 0;
  double train_rmse = 0;  ///< running query RMSE on training episodes
  double valid_rmse = 0;  ///< meta-validation query RMSE
  double seconds = 0;
};

/// Matrix imputation from observed entries alone, meta-learned across matrices.
class MetaMf {
 public:
  explicit MetaMf(MetaMfParams p = {});
  ~MetaMf();
  MetaMf(MetaMf&&) noexcept;
  MetaMf& operator=(MetaMf&&) noexcept;

  const MetaMfParams& params() const;

  /// Meta-trains on episodes of the source's train part, early-stopped on its valid part.
  /// `on_eval` (optional) sees every validation; returning false stops. Returns the best
  /// validation RMSE.
  double meta_train(const EpisodeSource& src, const EpisodeSpec& spec, const Context& ctx,
                    const std::function<bool(const MetaTrainInfo&)>& on_eval = {});

  /// Predictions for the episode's query entries (support only is read).
  std::vector<float> predict(const Episode& e, int steps = -1) const;
  /// Every cell of the matrix (n_rows x n_cols, row-major) from its observed entries.
  std::vector<float> impute(const Episode& e) const;
  /// Query RMSE of one episode.
  double rmse(const Episode& e, int steps = -1) const;

  /// Meta-learned scalars: step size and prior precision.
  nlohmann::json learned() const;

  void save(const std::string& path, const nlohmann::json& meta = {}) const;
  static MetaMf load(const std::string& path, nlohmann::json* meta = nullptr);

  /// For the gradient test: query loss and its gradient w.r.t. every network parameter, in
  /// double precision.
  double loss_and_grad(const Episode& e, std::vector<double>* grad) const;
  /// All network parameters, flattened (read or overwrite; for the gradient test).
  std::vector<double> get_flat() const;
  void set_flat(const std::vector<double>& v);

  struct Impl;  ///< the network (internal: libtorch code in mfkit's neural part)

 private:
  std::unique_ptr<Impl> impl_;
};

/// Per-matrix baselines on one episode's support, predicting its query entries.
/// `item_mean` / `user_mean`: damped means (the global mean when a row/column is empty).
std::vector<float> baseline_mean(const Episode& e, bool by_item, double damping = 5.0);
/// Biased MF fitted from scratch by ALS with L2 `lambda` (mfkit's `als` model).
std::vector<float> baseline_mf(const Episode& e, int factors, double lambda, const Context& ctx);
/// NNMF (mfkit's `nnmf`, the paper's network at small sizes) fitted to the episode alone.
std::vector<float> baseline_nnmf(const Episode& e, const Context& ctx);
/// RMSE of predictions against the episode's query values.
double query_rmse(const Episode& e, const std::vector<float>& pred);

}  // namespace mfkit
