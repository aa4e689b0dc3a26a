// mfkit/registry.h - models created by name.
//
// All built-in models are registered in one explicit function (src/models/registry.cpp); there
// is no static-initialiser registration. An unknown name raises NotFoundError listing the valid ones.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "mfkit/model.h"
#include "mfkit/params.h"

namespace mfkit {

/// A parameter's default range for hyper-parameter search (inside its declared range).
struct SearchRange {
  double lo = 0, hi = 0;
  bool log = false;  ///< sample on a log scale
};

struct ModelEntry {
  std::string name;
  std::string class_name;  ///< the Python class, e.g. "BiasedMF"
  std::string summary;     ///< one line
  bool implicit = false;   ///< ranks implicit feedback (Model::implicit() of its models)
  std::function<std::unique_ptr<Model>()> create;
  std::function<std::vector<ParamInfo>()> describe;  ///< parameters with defaults and help
  std::map<std::string, nlohmann::json> presets;     ///< named parameter sets ("paper", ...)
  std::map<std::string, SearchRange> search_space;   ///< what mfkit.tune searches by default
};

const std::vector<ModelEntry>& model_registry();
const ModelEntry& model_entry(const std::string& name);
std::unique_ptr<Model> create_model(const std::string& name);
/// The model with a preset (empty: none) and then `params` applied; ParamError names a bad preset.
std::unique_ptr<Model> create_model(const std::string& name, const std::string& preset, const nlohmann::json& params);

}  // namespace mfkit
