// The Python module's data half: Interactions, dataset loading, splits and metrics, all bound
// from the library (nothing here computes a split or a metric itself).
#include <pybind11/stl.h>

#include "core/json.h"
#include "mfkit/data.h"
#include "mfkit/evaluate.h"
#include "mfkit/interactions.h"
#include "mfkit/metrics.h"
#include "mfkit/split.h"
#include "python/bind.h"
#include "python/convert.h"
#include "python/shared_model.h"

namespace mfkit::python {

namespace {

std::shared_ptr<const IdMap> id_map(const std::vector<std::string>& names) { return IdMap::from_names(names); }

// The given raw ids (`n` of them), or "0".."n-1" when None (a matrix indexed as it is).
std::shared_ptr<const IdMap> names_or_index(const py::object& names, int64_t n, const char* what) {
  std::vector<std::string> v;
  if (names.is_none()) {
    v.reserve(static_cast<size_t>(n));
    for (int64_t k = 0; k < n; ++k) v.push_back(std::to_string(k));
  } else {
    v = names.cast<std::vector<std::string>>();
    if (static_cast<int64_t>(v.size()) != n)
      throw py::value_error(std::string(what) + ": " + std::to_string(v.size()) + " ids for " + std::to_string(n) +
                            " rows/columns");
  }
  return IdMap::from_names(std::move(v));
}

py::tuple csr_arrays(const Csr& c) {
  return py::make_tuple(to_array(c.indptr), to_array(c.indices), to_array(c.values));
}

py::dict labels_dict(const Labels& l) {
  py::dict d;
  d["user_names"] = l.user_names;
  d["item_titles"] = l.item_titles;
  d["item_categories"] = l.item_categories;
  return d;
}

}  // namespace

void bind_data(py::module_& m) {
  py::class_<Interactions>(m, "Interactions",
                           "The sparse user x item matrix (CSR by user and by item) with its id maps.")
      .def_static(
          "from_csr",
          [](const py::handle& indptr, const py::handle& indices, const py::handle& values, int64_t n_items,
             const py::object& users, const py::object& items) {
            Csr c;
            c.indptr = to_vector<int64_t>(indptr, "indptr");
            c.indices = to_vector<int32_t>(indices, "indices");
            c.values = to_vector<float>(values, "data");
            if (c.indptr.empty()) throw py::value_error("indptr: empty");
            auto um = names_or_index(users, static_cast<int64_t>(c.indptr.size()) - 1, "user_ids");
            auto im = names_or_index(items, n_items, "item_ids");
            py::gil_scoped_release nogil;
            return Interactions::from_csr(std::move(c), um, im);
          },
          "a CSR matrix (users x n_items); ids None index rows and columns as \"0\"..\"n-1\"", py::arg("indptr"),
          py::arg("indices"), py::arg("values"), py::arg("n_items"), py::arg("user_ids") = py::none(),
          py::arg("item_ids") = py::none())
      .def_static(
          "from_csr_like",
          [](const Interactions& like, const py::handle& indptr, const py::handle& indices, const py::handle& values) {
            Csr c;
            c.indptr = to_vector<int64_t>(indptr, "indptr");
            c.indices = to_vector<int32_t>(indices, "indices");
            c.values = to_vector<float>(values, "data");
            py::gil_scoped_release nogil;
            return Interactions::from_csr(std::move(c), like.user_ids(), like.item_ids());
          },
          "a matrix sharing `like`'s id maps (a validation or test part)", py::arg("like"), py::arg("indptr"),
          py::arg("indices"), py::arg("values"))
      .def_static(
          "from_coo",
          [](const py::handle& users, const py::handle& items, const py::handle& values, const py::handle& times,
             const std::vector<std::string>& user_names, const std::vector<std::string>& item_names,
             const std::string& duplicates) {
            Coo c;
            c.users = to_vector<int32_t>(users, "users");
            c.items = to_vector<int32_t>(items, "items");
            c.values = to_vector<float>(values, "values");
            if (!times.is_none()) c.times = to_vector<int64_t>(times, "timestamps");
            DuplicatePolicy dup = parse_duplicate_policy(duplicates);
            auto um = id_map(user_names), im = id_map(item_names);
            py::gil_scoped_release nogil;
            return Interactions::from_coo(c, um, im, dup);
          },
          py::arg("users"), py::arg("items"), py::arg("values"), py::arg("timestamps"), py::arg("user_names"),
          py::arg("item_names"), py::arg("duplicates") = "last")
      .def_property_readonly("n_users", &Interactions::n_users)
      .def_property_readonly("n_items", &Interactions::n_items)
      .def_property_readonly("nnz", &Interactions::nnz)
      .def_property_readonly("has_times", &Interactions::has_times)
      .def_property_readonly("duplicates_merged", &Interactions::duplicates_merged)
      .def(
          "csr", [](const Interactions& d) { return csr_arrays(d.by_user()); }, "(indptr, indices, values) by user")
      .def("times",
           [](const Interactions& d) -> py::object {
             if (!d.has_times()) return py::none();
             return to_array(d.by_user().times);
           })
      .def("user_names", [](const Interactions& d) { return d.user_ids()->names(); })
      .def("item_names", [](const Interactions& d) { return d.item_ids()->names(); })
      .def("same_ids", [](const Interactions& a, const Interactions& b) {
        return a.user_ids() == b.user_ids() && a.item_ids() == b.item_ids();
      });

  m.def(
      "load_data",
      [](const std::string& name, const std::string& columns, const std::string& sep, bool header, bool skip_bad_lines,
         const std::string& duplicates, bool binarize) {
        std::optional<Format> fmt;
        if (!columns.empty()) fmt = parse_format(columns, sep, header);
        LoadOptions opt;
        opt.skip_bad_lines = skip_bad_lines;
        opt.duplicates = parse_duplicate_policy(duplicates);
        opt.binarize = binarize;
        LoadResult r;
        {
          py::gil_scoped_release nogil;
          r = load_data(name, fmt, opt);
        }
        py::dict report;
        report["lines"] = r.lines;
        report["skipped"] = r.skipped;
        report["problems"] = r.problems;
        return py::make_tuple(std::move(r.data), labels_dict(r.labels), report);
      },
      py::arg("name"), py::arg("columns") = "", py::arg("sep") = ",", py::arg("header") = false,
      py::arg("skip_bad_lines") = false, py::arg("duplicates") = "last", py::arg("binarize") = false);
  m.def("dataset_names", [] {
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& s : datasets()) out.push_back({s.name, s.description});
    return out;
  });
  m.def("data_dir", &data_dir);
  m.def("dataset_folder", &dataset_folder);
  m.def(
      "synthetic_ratings",
      [](int32_t users, int32_t items, double density, int rank, double noise, uint64_t seed) {
        return synthetic_ratings({users, items, density, rank, noise, seed});
      },
      py::arg("users") = 600, py::arg("items") = 400, py::arg("density") = 0.08, py::arg("rank") = 6,
      py::arg("noise") = 0.35, py::arg("seed") = 7);

  py::class_<Split>(m, "Split")
      .def_readonly("train", &Split::train)
      .def_readonly("test", &Split::test)
      .def_readonly("negatives", &Split::negatives)
      .def_readonly("description", &Split::description);
  m.def(
      "make_split",
      [](const Interactions& data, const std::string& spec, uint64_t seed, const std::string& folder) {
        py::gil_scoped_release nogil;
        return make_split(data, spec, seed, folder);
      },
      py::arg("data"), py::arg("spec"), py::arg("seed"), py::arg("folder") = "");
  m.def(
      "carve_validation",
      [](const Interactions& train, double fraction, uint64_t seed) {
        py::gil_scoped_release nogil;
        return carve_validation(train, fraction, seed);
      },
      py::arg("train"), py::arg("fraction"), py::arg("seed"));

  m.def("rmse", [](const py::handle& p, const py::handle& a) {
    return rmse(to_vector<float>(p, "predicted"), to_vector<float>(a, "actual"));
  });
  m.def("mae", [](const py::handle& p, const py::handle& a) {
    return mae(to_vector<float>(p, "predicted"), to_vector<float>(a, "actual"));
  });
  m.def("evaluate_rating", [](const SharedModel& sm, const Interactions& test) {
    return reading(sm, [&](const Model& model) { return show_json(evaluate_rating(model, test)); });
  });
  m.def(
      "evaluate_ranking",
      [](const SharedModel& sm, const Interactions& train, const Interactions& test, int k, int threads,
         uint64_t seed) {
        return reading(sm, [&](const Model& model) {
          return show_json(evaluate_ranking(model, train, test, k, Context{threads, seed}));
        });
      },
      py::arg("model"), py::arg("train"), py::arg("test"), py::arg("k"), py::arg("threads"), py::arg("seed"));
  m.def(
      "evaluate_leave_one_out",
      [](const SharedModel& sm, const Split& split, int k, int threads, uint64_t seed) {
        return reading(sm, [&](const Model& model) {
          return show_json(evaluate_leave_one_out(model, split, k, Context{threads, seed}));
        });
      },
      py::arg("model"), py::arg("split"), py::arg("k"), py::arg("threads"), py::arg("seed"));
  m.def(
      "to_ids_of",
      [](const Interactions& data, const Interactions& like) {
        int64_t dropped = 0;
        Interactions out;
        {
          py::gil_scoped_release nogil;
          out = to_ids(data, like.user_ids(), like.item_ids(), &dropped);
        }
        return py::make_tuple(std::move(out), dropped);
      },
      "data re-indexed into like's id maps by raw id (unknown ids dropped), and the dropped count");
  m.def("to_model_ids", [](const Interactions& data, const SharedModel& sm) {
    int64_t dropped = 0;
    Interactions out = reading(sm, [&](const Model& model) { return to_model_ids(data, model, &dropped); });
    return py::make_tuple(std::move(out), dropped);
  });
}

}  // namespace mfkit::python
