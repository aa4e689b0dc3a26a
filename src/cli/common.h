// Internal to the CLI: options shared by the subcommands and small output helpers.
#pragma once

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "mfkit/experiment.h"

namespace mfkit::cli {

/// All cores of the machine (at least 1).
int default_threads();

struct Common {
  int threads = default_threads();
  uint64_t seed = 1;
  bool json = false;
  bool quiet = false;
};

struct DataOptions {
  std::string data;
  std::string format;  // column list, for files
  std::string sep = ",";
  bool header = false;
  bool skip_bad_lines = false;
  bool binarize = false;
  std::string duplicates = "last";
};

// The CLI's vocabulary: one spelling per meaning in every subcommand (tests/cli/vocabulary_test.cpp
// walks every subcommand's --help and fails on a clash). -m/--model is always a model type,
// -f/--model-file always a model file, --data always a dataset name or file, -k/--k a cut-off.
CLI::Option* add_model_type(CLI::App* app, std::string& model);
CLI::Option* add_model_file(CLI::App* app, std::string& file, const std::string& written_by);
CLI::Option* add_k(CLI::App* app, int& k, const std::string& what);
void deprecation_notice(const std::string& old_names, const std::string& now);
/// An old spelling of an option, hidden from --help: it still works, and says once on stderr
/// which spelling replaces it.
template <typename T>
CLI::Option* add_old_spelling(CLI::App* app, const std::string& names, T& target, const std::string& now) {
  return app->add_option(names, target)->group("")->each([names, now](const std::string&) {
    deprecation_notice(names, now);
  });
}

void add_common(CLI::App* app, Common& c);
void add_data(CLI::App* app, DataOptions& d, bool required);
/// Fills job.data/format/load from the data options.
void apply_data(const DataOptions& d, TrainJob& job);
/// Prints JSON (indented on a terminal) to stdout.
void print_json(const nlohmann::json& j);
bool stdout_is_terminal();

void add_train(CLI::App& app);
void add_eval(CLI::App& app);
void add_predict(CLI::App& app);
void add_recommend(CLI::App& app);
void add_similar(CLI::App& app);
void add_models(CLI::App& app);
void add_data_cmd(CLI::App& app);
void add_demo(CLI::App& app);
void add_query(CLI::App& app);
void add_explain(CLI::App& app);
void add_serve(CLI::App& app);
void add_ingest(CLI::App& app);
void add_refit(CLI::App& app);
void add_meta_train(CLI::App& app);
void add_impute(CLI::App& app);
void add_index(CLI::App& app);

}  // namespace mfkit::cli
