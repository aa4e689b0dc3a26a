// mfkit._core: the compiled half of the Python package (python/mfkit/ is the other).
//
// The library's exceptions become Python classes that also derive from the built-in class a
// Python user expects: ParamError and InputError are ValueErrors, NotFoundError a LookupError,
// DivergedError an ArithmeticError; all derive from mfkit.Error (a RuntimeError).
#include <nlohmann/json.hpp>

#include <cstring>

#include <pybind11/stl.h>

#include "kernels/dispatch.h"
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
  // Messages may quote bytes that are not UTF-8 (an id from a file): they become U+FFFD instead
  // of an empty message.
  static auto set = [](PyObject* cls, const char* what) {
    PyObject* msg = PyUnicode_DecodeUTF8(what, static_cast<Py_ssize_t>(std::strlen(what)), "replace");
    if (!msg) return;
    PyErr_SetObject(cls, msg);
    Py_DECREF(msg);
  };
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const ParamError& e) {
      set(param, e.what());
    } catch (const InputError& e) {
      set(input, e.what());
    } catch (const ModelFileError& e) {
      set(file, e.what());
    } catch (const NotFoundError& e) {
      set(missing, e.what());
    } catch (const DivergedError& e) {
      set(diverged, e.what());
    } catch (const Error& e) {
      set(base, e.what());
    } catch (const nlohmann::json::exception& e) {
      set(PyExc_ValueError, e.what());
    }
  });
}

}  // namespace mfkit::python

PYBIND11_MODULE(_core, m) {
  m.doc() = "mfkit's compiled core: bindings of the C++ library (use the mfkit package, not this module)";
  m.attr("version") = mfkit::version();
  m.attr("source_revision") = mfkit::source_revision();
  m.def(
      "kernels",
      [] {
        const mfkit::KernelInfo k = mfkit::kernel_info();
        pybind11::dict d;
        d["isa"] = k.isa;
        d["available"] = k.available;
        d["reason"] = k.reason;
        d["cpu"] = k.cpu;
        d["build"] = k.build;
        d["summary"] = mfkit::describe(k);
        return d;
      },
      "The instruction set whose kernels run (MFKIT_ISA forces one), the ones this CPU could run, why, the CPU");
  mfkit::python::bind_errors(m);
  mfkit::python::bind_data(m);
  mfkit::python::bind_model(m);
}
