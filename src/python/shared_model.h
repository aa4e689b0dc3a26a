// Internal to the Python module: a model Python threads may share (docs/python.md, "Threads").
//
// Readers (predict, recommend, similar_*, explain, save, the vectors) hold the lock shared;
// the writers that change a model in place (fold-in of users, parameters, the index) hold it
// alone, so a reader sees the state before a write or after it, never half of it. A fit does not
// write in place at all: it trains a new model (fresh()) that the package swaps in when done, so
// readers go on answering from the old one meanwhile. The GIL is released before the lock is
// taken: a thread waiting for the lock never holds the GIL that the lock's holder (a fit calling
// back into Python) may need.
#pragma once

#include <pybind11/pybind11.h>

#include <memory>
#include <mutex>
#include <shared_mutex>
#include <utility>

#include "mfkit/model.h"

namespace mfkit::python {

struct SharedModel {
  explicit SharedModel(std::unique_ptr<Model> m) : model(std::move(m)) {}
  std::unique_ptr<Model> model;
  mutable std::shared_mutex lock;
};

/// f(const Model&) with the lock held shared and the GIL released: f must not touch Python.
template <class F>
auto reading(const SharedModel& m, F&& f) {
  pybind11::gil_scoped_release nogil;
  std::shared_lock<std::shared_mutex> hold(m.lock);
  return f(static_cast<const Model&>(*m.model));
}

/// f(Model&) with the lock held alone and the GIL released: f must not touch Python.
template <class F>
auto writing(SharedModel& m, F&& f) {
  pybind11::gil_scoped_release nogil;
  std::unique_lock<std::shared_mutex> hold(m.lock);
  return f(*m.model);
}

}  // namespace mfkit::python
