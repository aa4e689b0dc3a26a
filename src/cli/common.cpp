#include "cli/common.h"

#include <fmt/format.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <set>
#include <thread>

#include "mfkit/error.h"

namespace mfkit::cli {

int default_threads() {
  cpu_set_t set;
  if (::sched_getaffinity(0, sizeof set, &set) == 0) return std::max(1, CPU_COUNT(&set));
  return std::max(1u, std::thread::hardware_concurrency());
}

CLI::Option* add_model_type(CLI::App* app, std::string& model) {
  return app->add_option("--model,-m", model, "model type (see `mfkit models`)");
}

CLI::Option* add_model_file(CLI::App* app, std::string& file, const std::string& written_by) {
  return app->add_option("--model-file,-f", file, "model file written by " + written_by);
}

CLI::Option* add_k(CLI::App* app, int& k, const std::string& what) {
  return app->add_option("-k,--k", k, what)->check(CLI::Range(1, 100000))->capture_default_str();
}

void deprecation_notice(const std::string& old_names, const std::string& now) {
  static std::set<std::string> said;
  if (said.insert(old_names).second)
    fmt::print(stderr, "mfkit: note: {} here is an old spelling, kept for now; use {}\n", old_names, now);
}

void add_common(CLI::App* app, Common& c) {
  // More threads than CPUs never help these loops, and oversubscribed OpenMP barriers spin: at
  // 256 threads on 2 cores a biased-mf epoch took 200x longer. A larger count is lowered, said once.
  auto cap = [](std::string& s) {
    const int cpus = default_threads();
    int n = 0;
    try {
      n = std::stoi(s);
    } catch (const std::exception&) {
      return std::string("not a whole number");
    }
    if (n < 1 || n > 256) return std::string("must be in [1, 256]");
    if (n > cpus) {
      fmt::print(stderr, "mfkit: note: --threads {}: this machine lets mfkit use {} CPUs; using {}\n", s, cpus, cpus);
      s = std::to_string(cpus);
    }
    return std::string();
  };
  app->add_option("--threads", c.threads, "worker threads (default: all cores; at most the CPUs available)")
      ->transform(CLI::Validator(cap, "", "cpus"));
  app->add_option("--seed", c.seed, "random seed; with --threads 1 the same seed gives a bit-identical model")
      ->capture_default_str();
  app->add_flag("--json", c.json, "print one machine-readable JSON object on stdout");
  app->add_flag("--quiet,-q", c.quiet, "no progress output");
}

void add_data(CLI::App* app, DataOptions& d, bool required) {
  auto* o = app->add_option("--data", d.data,
                            "dataset name (ml-100k, ml-1m, ml-latest-small, lastfm-2k, synthetic) found under "
                            "$MFKIT_DATA_DIR, or a file path");
  if (required) o->required();
  app->add_option("--format", d.format, "columns of a data file, e.g. user,item,rating[,timestamp] (_ skips one)");
  app->add_option("--sep", d.sep, "field separator of a data file (\\t for tab)")->capture_default_str();
  app->add_flag("--header", d.header, "the data file's first line is a header");
  app->add_flag("--skip-bad-lines", d.skip_bad_lines,
                "skip malformed lines (their count is reported) instead of failing");
  app->add_flag("--binarize", d.binarize,
                "read every value as 1 (ratings as implicit feedback, e.g. the NCF protocol)");
  app->add_option("--duplicates", d.duplicates, "repeated (user, item) pairs: last, sum or error")
      ->check(CLI::IsMember({"last", "sum", "error"}))
      ->capture_default_str();
}

void apply_data(const DataOptions& d, TrainJob& job) {
  job.data = d.data;
  std::string sep = d.sep == "\\t" || d.sep == "tab" ? "\t" : d.sep;
  if (!d.format.empty()) job.format = parse_format(d.format, sep, d.header);
  job.load.skip_bad_lines = d.skip_bad_lines;
  job.load.binarize = d.binarize;
  job.load.duplicates = parse_duplicate_policy(d.duplicates);
}

bool stdout_is_terminal() { return ::isatty(STDOUT_FILENO) == 1; }

void print_json(const nlohmann::json& j) {
  // Bytes that are not UTF-8 (an id read from a model file, say) become U+FFFD: output never throws.
  fmt::print("{}\n", j.dump(stdout_is_terminal() ? 2 : -1, ' ', false, nlohmann::json::error_handler_t::replace));
}

}  // namespace mfkit::cli
