#include "mfkit/models/popularity.h"

#include <algorithm>
#include <cmath>

#include "mfkit/error.h"
#include "mfkit/model_file.h"
#include "models/epochs.h"
#include "models/popularity/popularity_model.h"

namespace mfkit {

void PopularityParams::visit(ParamVisitor& v) {
  v.param("weight", weight, "count: users per item; sum: summed training values (play counts)", {"count", "sum"});
}

void Popularity::do_fit(const Interactions& train, const FitOptions& opt) {
  const Csr& c = train.by_item();
  const bool sum = p_.weight == "sum";
  const double scale = 1.0 / std::max<int32_t>(1, train.n_users());
  // One pass, reported as one epoch so that callbacks see the fit like any other.
  EpochHooks h;
  h.step = [&](int) {
    pop_.assign(train.n_items(), 0.0f);
    for (int32_t i = 0; i < train.n_items(); ++i) {
      double s = 0;
      for (int64_t e = c.indptr[i]; e < c.indptr[i + 1]; ++e) s += sum ? c.values[e] : 1.0;
      pop_[i] = static_cast<float>(s * scale);
    }
    return 0.0;
  };
  h.finite = [&] { return std::all_of(pop_.begin(), pop_.end(), [](float v) { return std::isfinite(v); }); };
  run_epochs(type(), 1, 0, opt, h);
}

void Popularity::predict(const int32_t*, const int32_t* items, size_t n, float* out) const {
  for (size_t e = 0; e < n; ++e) out[e] = items[e] >= 0 && items[e] < n_items() ? pop_[items[e]] : 0.0f;
}

void Popularity::score(const int32_t*, size_t n, float* out) const {
  for (size_t r = 0; r < n; ++r) std::copy(pop_.begin(), pop_.end(), out + r * pop_.size());
}

void Popularity::score_new_user(const std::vector<int32_t>&, const std::vector<float>&, float* out) const {
  std::copy(pop_.begin(), pop_.end(), out);
}

void Popularity::save_tensors(TensorMap& out) const { out["item_scores"] = Tensor::f32(pop_); }

void Popularity::load_tensors(const TensorMap& in) {
  pop_ = require_tensor(in, "item_scores", DType::kF32, n_items()).as_f32();
  if (!std::all_of(pop_.begin(), pop_.end(), [](float v) { return std::isfinite(v); }))
    throw Error("model file: item_scores contain NaN or infinity");
}

}  // namespace mfkit
