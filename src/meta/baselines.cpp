// Per-matrix baselines for meta-mf: damped means, ALS from scratch, NNMF from scratch.
#include <cmath>

#include "mfkit/error.h"
#include "mfkit/meta.h"
#include "mfkit/registry.h"

namespace mfkit {

namespace {

// The episode's support as an Interactions matrix with ids "0".."n-1", so every row and column
// exists (ids follow the local indices).
Interactions support_matrix(const Episode& e) {
  std::vector<std::string> r, c;
  for (int32_t i = 0; i < e.n_rows; ++i) r.push_back(std::to_string(i));
  for (int32_t j = 0; j < e.n_cols; ++j) c.push_back(std::to_string(j));
  Coo coo;
  coo.users = e.s_rows;
  coo.items = e.s_cols;
  coo.values = e.s_vals;
  return Interactions::from_coo(coo, IdMap::from_names(r), IdMap::from_names(c));
}

std::vector<float> predict_query(const Model& m, const Episode& e) {
  std::vector<float> out(e.q_vals.size());
  m.predict(e.q_rows.data(), e.q_cols.data(), e.q_vals.size(), out.data());
  return out;
}

}  // namespace

std::vector<float> baseline_mean(const Episode& e, bool by_item, double damping) {
  double mu = 0;
  for (float v : e.s_vals) mu += v;
  mu /= std::max<size_t>(1, e.s_vals.size());
  int32_t n = by_item ? e.n_cols : e.n_rows;
  std::vector<double> sum(n, 0), cnt(n, 0);
  const auto& idx = by_item ? e.s_cols : e.s_rows;
  for (size_t k = 0; k < e.s_vals.size(); ++k) sum[idx[k]] += e.s_vals[k] - mu, cnt[idx[k]] += 1;
  const auto& q = by_item ? e.q_cols : e.q_rows;
  std::vector<float> out(q.size());
  for (size_t k = 0; k < q.size(); ++k) out[k] = static_cast<float>(mu + sum[q[k]] / (cnt[q[k]] + damping));
  return out;
}

std::vector<float> baseline_mf(const Episode& e, int factors, double lambda, const Context& ctx) {
  auto m = create_model("als", "", {{"factors", factors}, {"reg", lambda}, {"reg_bias", lambda}, {"iterations", 15}});
  FitOptions fo;
  fo.ctx = ctx;
  m->fit(support_matrix(e), fo);
  return predict_query(*m, e);
}

std::vector<float> baseline_nnmf(const Episode& e, const Context& ctx) {
  // The paper's network and objective at sizes for a matrix of a few hundred entries: full
  // batch, lambda scaled to the entry count, early stopping on a carve-out of the support.
  auto m = create_model("nnmf", "paper",
                        {{"batch_size", 0},
                         {"lambda", 2.0},
                         {"biases", true},
                         {"clip", true},
                         {"d_prime", 10},
                         {"epochs", 400},
                         {"patience", 30},
                         {"valid_fraction", 0.1}});
  FitOptions fo;
  fo.ctx = ctx;
  m->fit(support_matrix(e), fo);
  return predict_query(*m, e);
}

}  // namespace mfkit
