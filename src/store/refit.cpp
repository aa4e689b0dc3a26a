// dotify's nightly refit: the store's charts -> a model file, written atomically.
#include <chrono>

#include "io/atomic_file.h"
#include "mfkit/error.h"
#include "mfkit/model_file.h"
#include "mfkit/registry.h"
#include "mfkit/store.h"

namespace mfkit {

nlohmann::json refit(const ChartStore& store, const std::string& out, const RefitOptions& opt) {
  if (out.empty()) throw ParamError("refit: no output model file given");
  check_writable(out, "model file");
  std::unique_ptr<Model> model = create_model(opt.model, opt.preset, opt.params);
  auto days = store.days();
  LoadResult data = store.load(opt.last_days);
  FitOptions fo;
  fo.ctx = opt.ctx;
  fo.labels = &data.labels;
  fo.on_epoch = opt.on_epoch;
  auto t0 = std::chrono::steady_clock::now();
  model->fit(data.data, fo);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  size_t first =
      opt.last_days > 0 && static_cast<size_t>(opt.last_days) < days.size() ? days.size() - opt.last_days : 0;
  nlohmann::json meta = {{"dataset", "chart store " + store.path()},
                         {"from", days[first].date},
                         {"to", days.back().date},
                         {"days", days.size() - first}};
  save_model(*model, out, meta);
  nlohmann::json report = meta;
  report["model"] = opt.model;
  report["preset"] = opt.preset;
  report["countries"] = data.data.n_users();
  report["tracks"] = data.data.n_items();
  report["entries"] = data.data.nnz();
  report["train_seconds"] = seconds;
  report["saved"] = out;
  return report;
}

}  // namespace mfkit
