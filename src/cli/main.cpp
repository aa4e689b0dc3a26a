// mfkit: the command-line interface, a thin layer over the library.
// Exit codes: 0 success, 1 a user error (bad input, parameter, file), 2 a bad command line,
// 3 an internal error.
#include <fmt/format.h>

#include <cstdlib>

#include "cli/common.h"
#include "kernels/dispatch.h"
#include "mfkit/error.h"
#include "mfkit/version.h"

int main(int argc, char** argv) {
  CLI::App app{"mfkit: matrix factorization and neural recommendation"};
  app.require_subcommand(1);
  app.set_version_flag("--version", [] {
    return std::string("mfkit ") + mfkit::version() + " (" + mfkit::source_revision() +
           ")\nkernels: " + mfkit::describe(mfkit::kernel_info());
  });
  mfkit::cli::add_train(app);
  mfkit::cli::add_eval(app);
  mfkit::cli::add_predict(app);
  mfkit::cli::add_recommend(app);
  mfkit::cli::add_similar(app);
  mfkit::cli::add_query(app);
  mfkit::cli::add_explain(app);
  mfkit::cli::add_index(app);
  mfkit::cli::add_models(app);
  mfkit::cli::add_data_cmd(app);
  mfkit::cli::add_demo(app);
  mfkit::cli::add_serve(app);
  mfkit::cli::add_ingest(app);
  mfkit::cli::add_refit(app);
  mfkit::cli::add_meta_train(app);
  mfkit::cli::add_impute(app);
  try {
    // A forced instruction set is checked before any work: MFKIT_ISA=avx512 on a CPU without it.
    if (const char* isa = std::getenv("MFKIT_ISA"); isa && *isa) mfkit::kernels();
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  } catch (const mfkit::Error& e) {
    fmt::print(stderr, "mfkit: error: {}\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    fmt::print(stderr, "mfkit: internal error: {}\n", e.what());
    return 3;
  }
  return 0;
}
