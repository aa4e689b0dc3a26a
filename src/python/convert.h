// Internal to the Python module: conversions between numpy arrays and the library's vectors.
// Arrays arrive already checked and cast by the pure-Python layer (python/mfkit/), so these
// only copy; each still refuses a wrong dtype rather than converting it silently.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/huge_pages.h"

namespace mfkit::python {

namespace py = pybind11;

/// A 1-D array of exactly type T (no casting), copied into a vector; `what` names it in errors.
template <class T>
std::vector<T> to_vector(const py::handle& obj, const char* what) {
  if (!py::isinstance<py::array_t<T>>(obj)) {
    throw py::type_error(std::string(what) + ": expected a 1-D numpy array of " +
                         py::str(py::dtype::of<T>()).cast<std::string>());
  }
  auto a = py::reinterpret_borrow<py::array_t<T>>(obj);
  if (a.ndim() != 1)
    throw py::value_error(std::string(what) + ": expected a 1-D array, got " + std::to_string(a.ndim()) + "-D");
  const size_t n = static_cast<size_t>(a.shape(0));
  std::vector<T> v;
  reserve_huge(v, n);  // one pass over fresh memory, no zeroing first
  if (a.strides(0) == static_cast<py::ssize_t>(sizeof(T))) {
    v.assign(a.data(), a.data() + n);
  } else {
    auto r = a.template unchecked<1>();
    for (py::ssize_t k = 0; k < a.shape(0); ++k) v.push_back(r(k));
  }
  return v;
}

/// A new 1-D numpy array holding a copy of `v`.
template <class T>
py::array_t<T> to_array(const std::vector<T>& v) {
  py::array_t<T> a(static_cast<py::ssize_t>(v.size()));
  std::copy(v.begin(), v.end(), a.mutable_data());
  return a;
}

/// A new 2-D numpy array (rows x cols) holding a copy of row-major `v`.
template <class T>
py::array_t<T> to_array_2d(const std::vector<T>& v, py::ssize_t rows, py::ssize_t cols) {
  py::array_t<T> a({rows, cols});
  std::copy(v.begin(), v.end(), a.mutable_data());
  return a;
}

}  // namespace mfkit::python
