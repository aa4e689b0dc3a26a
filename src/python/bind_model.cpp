// The Python module's model half: the registry, Model (fit, predict, recommend, similar, explain,
// fold-in, factors) and model files. Every call goes to the library; long calls release the GIL.
#include <pybind11/functional.h>
#include <pybind11/stl.h>

#include <cmath>
#include <limits>

#include "core/json.h"
#include "mfkit/error.h"
#include "mfkit/index.h"
#include "mfkit/labels.h"
#include "mfkit/model_file.h"
#include "mfkit/recommend.h"
#include "mfkit/registry.h"
#include "python/bind.h"
#include "python/convert.h"
#include "python/shared_model.h"

namespace mfkit::python {

namespace {

nlohmann::json params_json(const std::vector<ParamInfo>& info) {
  nlohmann::json params = nlohmann::json::array();
  for (const ParamInfo& p : info)
    params.push_back({{"name", p.name},
                      {"type", p.type},
                      {"default", p.default_value},
                      {"help", p.help},
                      {"lo", p.lo},
                      {"hi", p.hi},
                      {"choices", p.choices},
                      {"allowed", p.allowed()}});
  return params;
}

nlohmann::json registry_json() {
  nlohmann::json out = nlohmann::json::array();
  for (const ModelEntry& e : model_registry()) {
    nlohmann::json params = params_json(e.describe());
    nlohmann::json space = nlohmann::json::object();
    for (const auto& [name, r] : e.search_space) space[name] = {{"lo", r.lo}, {"hi", r.hi}, {"log", r.log}};
    nlohmann::json presets = nlohmann::json::object();
    for (const auto& [name, p] : e.presets) presets[name] = p;
    out.push_back({{"name", e.name},
                   {"class_name", e.class_name},
                   {"summary", e.summary},
                   {"params", params},
                   {"presets", presets},
                   {"search_space", space},
                   {"implicit", e.implicit}});
  }
  return out;
}

RecommendOptions options(int k, bool filter_seen, const py::handle& exclude, const py::handle& candidates) {
  RecommendOptions o;
  o.k = k;
  o.filter_seen = filter_seen;
  if (!exclude.is_none()) o.exclude = to_vector<int32_t>(exclude, "filter_items");
  if (!candidates.is_none()) o.candidates = to_vector<int32_t>(candidates, "items");
  return o;
}

// JSON handed over by the package (parameters, metadata), depth-limited as every JSON mfkit reads.
nlohmann::json parse_json_arg(const std::string& text, const char* what) {
  try {
    return parse_json(text);
  } catch (const JsonError& e) {
    throw ParamError(std::string(what) + ": " + e.what());
  }
}

// Top-k lists as two (n x k) arrays; a list shorter than k (few items left) is padded with
// id -1 and score -inf.
py::tuple ranked_arrays(const std::vector<std::vector<Scored>>& lists, int k) {
  const size_t n = lists.size();
  std::vector<int32_t> ids(n * k, -1);
  std::vector<float> scores(n * k, -std::numeric_limits<float>::infinity());
  for (size_t r = 0; r < n; ++r)
    for (size_t j = 0; j < lists[r].size(); ++j) {
      ids[r * k + j] = lists[r][j].index;
      scores[r * k + j] = lists[r][j].score;
    }
  return py::make_tuple(to_array_2d(ids, n, k), to_array_2d(scores, n, k));
}

py::array_t<float> vectors(const std::vector<float>& v, int dim, const std::string& type, const char* side) {
  if (dim == 0) throw Error(type + ": this model has no " + side + " vectors");
  return to_array_2d(v, static_cast<py::ssize_t>(v.size() / dim), dim);
}

// The model, refused with a clear error when it has not been fitted or loaded.
const Model& fitted(const Model& model) {
  if (!model.fitted()) throw Error(model.type() + ": the model is not fitted yet (call fit, or load a model file)");
  return model;
}

// The k neighbours of each query (items or users), as ranked_arrays.
py::tuple similar_arrays(const SharedModel& sm, bool items, const py::handle& queries, int k, const py::handle& exclude,
                         const py::handle& candidates, bool exact) {
  std::vector<int32_t> q = to_vector<int32_t>(queries, items ? "itemid" : "userid");
  RecommendOptions o = options(k, false, exclude, candidates);
  o.exact = exact;
  auto lists = reading(sm, [&](const Model& m) {
    fitted(m);
    return items ? similar_items(m, q, o) : similar_users(m, q, o);
  });
  return ranked_arrays(lists, k);
}

// Dense indices of raw ids (-1 for unknown ones).
py::array_t<int32_t> lookup(const SharedModel& sm, bool users, const std::vector<std::string>& names) {
  auto out = reading(sm, [&](const Model& m) {
    const IdMap& map = users ? *fitted(m).user_ids() : *fitted(m).item_ids();
    std::vector<int32_t> v(names.size());
    for (size_t k = 0; k < names.size(); ++k) v[k] = map.find(names[k]);
    return v;
  });
  return to_array(out);
}

// Fits a new model of the same type and parameters (the one in service is not touched: readers
// go on with it) and returns it; the package swaps it in.
std::shared_ptr<SharedModel> fit_new(const SharedModel& sm, const Interactions& train, const Interactions* valid,
                                     int threads, uint64_t seed, const py::object& callback, const py::object& labels) {
  auto next = reading(sm, [](const Model& m) {
    auto fresh = create_model(m.type());
    fresh->set_params(m.params());
    return fresh;
  });
  // The callback runs with the GIL held; it, or a pending Ctrl-C, stops the fit after the epoch
  // and its exception is raised once the library has returned.
  std::exception_ptr pending;
  FitOptions opt;
  opt.ctx = Context{threads, seed};
  opt.validation = valid;
  // A Dataset's side data (titles, categories), indexed like its items: shallow-net reads them.
  Labels side;
  if (!labels.is_none()) {
    py::dict d = labels.cast<py::dict>();
    auto list = [&](const char* key) {
      return d.contains(key) ? d[key].cast<std::vector<std::string>>() : std::vector<std::string>();
    };
    side.user_names = list("user_names");
    side.item_titles = list("item_titles");
    side.item_categories = list("item_categories");
    for (const auto* v : {&side.item_titles, &side.item_categories})
      if (!v->empty() && static_cast<int32_t>(v->size()) != train.n_items())
        throw py::value_error("labels: " + std::to_string(v->size()) + " item labels for " +
                              std::to_string(train.n_items()) + " items");
    if (!side.empty()) opt.labels = &side;
  }
  opt.on_epoch = [&](const EpochInfo& e) {
    py::gil_scoped_acquire gil;
    try {
      if (PyErr_CheckSignals() != 0) throw py::error_already_set();
      if (callback.is_none()) return true;
      py::object valid_rmse = e.valid_rmse ? py::object(py::float_(*e.valid_rmse)) : py::object(py::none());
      py::object loss = e.has_train_loss ? py::object(py::float_(e.train_loss)) : py::object(py::none());
      py::object r = callback(e.epoch, e.epochs, e.seconds, loss, valid_rmse);
      return r.is_none() || r.cast<bool>();
    } catch (...) {
      pending = std::current_exception();
      return false;
    }
  };
  {
    py::gil_scoped_release nogil;
    next->fit(train, opt);
  }
  if (pending) std::rethrow_exception(pending);
  return std::make_shared<SharedModel>(std::move(next));
}

py::array_t<float> vectors_of(const SharedModel& sm, bool users) {
  int dim = 0;
  std::string type;
  auto v = reading(sm, [&](const Model& m) {
    type = fitted(m).type();
    return users ? m.user_vectors(&dim) : m.item_vectors(&dim);
  });
  return vectors(v, dim, type, users ? "user" : "item");
}

}  // namespace

void bind_model(py::module_& m) {
  m.def(
      "registry", [] { return registry_json().dump(); }, "every registered model as JSON");
  m.def(
      "index_params", [] { return params_json(describe_params<IndexParams>()).dump(); },
      "the approximate index's parameters as JSON");

  py::class_<SharedModel, std::shared_ptr<SharedModel>>(
      m, "Model", "A registered mfkit model (see mfkit.create); safe to share between threads (docs/python.md).")
      .def_static(
          "create",
          [](const std::string& name, const std::string& preset, const std::string& params) {
            return std::make_shared<SharedModel>(create_model(name, preset, parse_json_arg(params, "params")));
          },
          py::arg("name"), py::arg("preset"), py::arg("params_json"))
      .def_static(
          "load",
          [](const std::string& path) {
            nlohmann::json meta;
            std::unique_ptr<Model> model;
            {
              py::gil_scoped_release nogil;
              model = load_model(path, &meta);
            }
            return py::make_tuple(std::make_shared<SharedModel>(std::move(model)), show_json(meta));
          },
          py::arg("path"))
      .def(
          "save",
          [](const SharedModel& sm, const std::string& path, const std::string& meta) {
            nlohmann::json j = parse_json_arg(meta, "meta");
            reading(sm, [&](const Model& model) {
              save_model(fitted(model), path, j);
              return 0;
            });
          },
          py::arg("path"), py::arg("meta_json"))
      .def_property_readonly("type",
                             [](const SharedModel& sm) { return reading(sm, [](const Model& m) { return m.type(); }); })
      .def_property_readonly(
          "implicit", [](const SharedModel& sm) { return reading(sm, [](const Model& m) { return m.implicit(); }); })
      .def_property_readonly(
          "fitted", [](const SharedModel& sm) { return reading(sm, [](const Model& m) { return m.fitted(); }); })
      .def_property_readonly(
          "n_users", [](const SharedModel& sm) { return reading(sm, [](const Model& m) { return m.n_users(); }); })
      .def_property_readonly(
          "n_items", [](const SharedModel& sm) { return reading(sm, [](const Model& m) { return m.n_items(); }); })
      .def("params_json",
           [](const SharedModel& sm) { return reading(sm, [](const Model& m) { return show_json(m.params()); }); })
      .def("set_params_json",
           [](SharedModel& sm, const std::string& p) {
             nlohmann::json j = parse_json_arg(p, "params");
             writing(sm, [&](Model& m) {
               m.set_params(j);
               return 0;
             });
           })
      .def("fit_new", &fit_new, py::arg("train"), py::arg("valid"), py::arg("threads"), py::arg("seed"),
           py::arg("callback"), py::arg("labels") = py::none(),
           "a new model of this type and parameters fitted on train (this one is left as it is)")
      .def("predict",
           [](const SharedModel& sm, const py::handle& users, const py::handle& items) {
             std::vector<int32_t> u = to_vector<int32_t>(users, "users"), i = to_vector<int32_t>(items, "items");
             if (u.size() != i.size()) throw py::value_error("predict: users and items differ in length");
             std::vector<float> out(u.size());
             reading(sm, [&](const Model& model) {
               fitted(model).predict(u.data(), i.data(), u.size(), out.data());
               return 0;
             });
             return to_array(out);
           })
      .def(
          "recommend",
          [](const SharedModel& sm, const py::handle& users, int k, bool filter_seen, const py::handle& exclude,
             const py::handle& candidates, const py::handle& seen_indptr, const py::handle& seen_indices, int threads,
             bool exact) {
            std::vector<int32_t> u = to_vector<int32_t>(users, "userid");
            RecommendOptions o = options(k, filter_seen, exclude, candidates);
            o.exact = exact;
            Csr seen;
            if (!seen_indptr.is_none()) {
              seen.indptr = to_vector<int64_t>(seen_indptr, "user_items.indptr");
              seen.indices = to_vector<int32_t>(seen_indices, "user_items.indices");
              o.seen = &seen;
            }
            auto lists = reading(sm, [&](const Model& model) {
              return recommend(fitted(model), u, o, Context{threads, 1});
            });
            return ranked_arrays(lists, k);
          },
          py::arg("users"), py::arg("k"), py::arg("filter_seen"), py::arg("exclude"), py::arg("candidates"),
          py::arg("seen_indptr"), py::arg("seen_indices"), py::arg("threads"), py::arg("exact") = false)
      .def("recommend_folded",
           [](const SharedModel& sm, const py::handle& indptr, const py::handle& indices, const py::handle& values,
              int k, bool filter_seen, const py::handle& exclude, const py::handle& candidates, int threads) {
             Csr rows;
             rows.indptr = to_vector<int64_t>(indptr, "user_items.indptr");
             rows.indices = to_vector<int32_t>(indices, "user_items.indices");
             rows.values = to_vector<float>(values, "user_items.data");
             RecommendOptions o = options(k, filter_seen, exclude, candidates);
             auto lists = reading(sm, [&](const Model& model) {
               return recommend_new_users(fitted(model), rows, o, Context{threads, 1});
             });
             return ranked_arrays(lists, k);
           })
      .def("update_users",
           [](SharedModel& sm, const py::handle& users, const py::handle& indptr, const py::handle& indices,
              const py::handle& values, const std::vector<std::string>& new_names, int threads) {
             std::vector<int32_t> u = to_vector<int32_t>(users, "userids");
             Csr rows;
             rows.indptr = to_vector<int64_t>(indptr, "user_items.indptr");
             rows.indices = to_vector<int32_t>(indices, "user_items.indices");
             rows.values = to_vector<float>(values, "user_items.data");
             writing(sm, [&](Model& model) {
               fitted(model);
               model.update_users(u, rows, new_names, Context{threads, 1});
               return 0;
             });
           })
      .def("fold_in_user",
           [](const SharedModel& sm, const py::handle& items, const py::handle& values) {
             std::vector<int32_t> i = to_vector<int32_t>(items, "items");
             std::vector<float> v = to_vector<float>(values, "values");
             return to_array(reading(sm, [&](const Model& model) { return fitted(model).fold_in_user(i, v); }));
           })
      .def(
          "similar_items",
          [](const SharedModel& sm, const py::handle& items, int k, const py::handle& exclude,
             const py::handle& candidates,
             bool exact) { return similar_arrays(sm, true, items, k, exclude, candidates, exact); },
          py::arg("items"), py::arg("k"), py::arg("exclude"), py::arg("candidates"), py::arg("exact") = false)
      .def("similar_users",
           [](const SharedModel& sm, const py::handle& users, int k, const py::handle& exclude,
              const py::handle& candidates) { return similar_arrays(sm, false, users, k, exclude, candidates, true); })
      .def("build_index",
           [](SharedModel& sm, const std::string& params, int threads) {
             IndexParams p;
             params_from_json(p, parse_json_arg(params, "params"), "index");
             // Built beside the readers (it covers the items, which no write in place changes),
             // attached alone.
             auto index = reading(sm, [&](const Model& model) {
               return ItemIndex::build(fitted(model), p, Context{threads, 1});
             });
             writing(sm, [&](Model& model) {
               model.set_index(std::move(index));
               return 0;
             });
           })
      .def("drop_index",
           [](SharedModel& sm) {
             writing(sm, [](Model& model) {
               model.set_index(nullptr);
               return 0;
             });
           })
      .def("index_params_json",
           [](const SharedModel& sm) -> std::string {
             return reading(sm, [](const Model& model) -> std::string {
               if (!model.index()) return "";
               IndexParams p = model.index()->params();
               return params_to_json(p).dump();
             });
           })
      .def("explain",
           [](const SharedModel& sm, int32_t user, int32_t item, int k) {
             return reading(sm, [&](const Model& model) { return fitted(model).explain(user, item, k); });
           })
      .def("user_vectors", [](const SharedModel& sm) { return vectors_of(sm, true); })
      .def("item_vectors", [](const SharedModel& sm) { return vectors_of(sm, false); })
      .def("seen",
           [](const SharedModel& sm) {
             auto seen = reading(sm, [](const Model& model) { return fitted(model).seen(); });
             return py::make_tuple(to_array(seen.indptr), to_array(seen.indices));
           })
      .def("user_names",
           [](const SharedModel& sm) {
             return reading(sm, [](const Model& model) { return fitted(model).user_ids()->names(); });
           })
      .def("item_names",
           [](const SharedModel& sm) {
             return reading(sm, [](const Model& model) { return fitted(model).item_ids()->names(); });
           })
      .def("lookup_users", [](const SharedModel& sm, const std::vector<std::string>& n) { return lookup(sm, true, n); })
      .def("lookup_items",
           [](const SharedModel& sm, const std::vector<std::string>& n) { return lookup(sm, false, n); });
}

}  // namespace mfkit::python
