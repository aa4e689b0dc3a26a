// mfkit._core: the compiled half of the Python package (python/mfkit/ is the other).
//
// The library's exceptions become Python classes that also derive from the built-in class a
// Python user expects: ParamError and InputError are ValueErrors, NotFoundError a LookupError,
// DivergedError an ArithmeticError; all derive from mfkit.Error (a RuntimeError).
#include <nlohmann/json.hpp>

#include "mfkit/error.h"
#include "mfkit/version.h"
#include "python/bind.h"

namespace mfkit::python {

namespace py = pybind11;

void bind_errors(py::module_& m) {
  static PyObject* base = PyErr_NewException("mfkit._core.Error", PyExc_RuntimeError, nullptr);
  auto make = [&](const char* name, PyObject* builtin) {
    py::tuple bases = py::make_tuple(py::handle(base), py::handle(builtin));
    PyObject* cls = PyErr_NewException((std::string("mfkit._core.") + name).c_str(), bases.ptr(), nullptr);
    m.attr(name) = py::handle(cls);
    return cls;
  };
  m.attr("Error") = py::handle(base);
  static PyObject* param = make("ParamError", PyExc_ValueError);
  static PyObject* input = make("InputError", PyExc_ValueError);
  static PyObject* file = make("ModelFileError", PyExc_ValueError);
  static PyObject* missing = make("NotFoundError", PyExc_LookupError);
  static PyObject* diverged = make("DivergedError", PyExc_ArithmeticError);
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const ParamError& e) {
      PyErr_SetString(param, e.what());
    } catch (const InputError& e) {
      PyErr_SetString(input, e.what());
    } catch (const ModelFileError& e) {
      PyErr_SetString(file, e.what());
    } catch (const NotFoundError& e) {
      PyErr_SetString(missing, e.what());
    } catch (const DivergedError& e) {
      PyErr_SetString(diverged, e.what());
    } catch (const Error& e) {
      PyErr_SetString(base, e.what());
    } catch (const nlohmann::json::exception& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    }
  });
}

}  // namespace mfkit::python

PYBIND11_MODULE(_core, m) {
  m.doc() = "mfkit's compiled core: bindings of the C++ library (use the mfkit package, not this module)";
  m.attr("version") = mfkit::version();
  m.attr("source_revision") = mfkit::source_revision();
  mfkit::python::bind_errors(m);
  mfkit::python::bind_data(m);
  mfkit::python::bind_model(m);
}
