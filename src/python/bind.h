// Internal to the Python module: the parts of mfkit._core, each bound in its own file.
#pragma once

#include <pybind11/pybind11.h>

namespace mfkit::python {

void bind_errors(pybind11::module_& m);  // module.cpp
void bind_data(pybind11::module_& m);    // bind_data.cpp
void bind_model(pybind11::module_& m);   // bind_model.cpp

}  // namespace mfkit::python
