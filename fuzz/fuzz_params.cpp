// JSON parameters, as --config files and Python's keyword arguments reach the library: parsed
// with the one depth-limited reader, then given to every registered model and to the index.
// Each is accepted or refused with mfkit::Error (ParamError, JsonError); nothing else escapes.
#include "core/json.h"
#include "mfkit/error.h"
#include "mfkit/index.h"
#include "mfkit/registry.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace mfkit;
  nlohmann::json j;
  try {
    j = parse_json(std::string_view(reinterpret_cast<const char*>(data), size));
  } catch (const JsonError&) {
    return 0;
  }
  for (const ModelEntry& e : model_registry()) {
    try {
      auto m = e.create();
      m->set_params(j);
      const nlohmann::json back = m->params();
      m->set_params(back);  // what a model reports it takes again
      show_json(back);
    } catch (const Error&) {
    }
  }
  try {
    IndexParams p;
    params_from_json(p, j, "index");
  } catch (const Error&) {
  }
  return 0;
}
