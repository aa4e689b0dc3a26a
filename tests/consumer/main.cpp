// An outside program using an installed mfkit (tests/consumer/run.sh builds it with CMake's
// find_package(mfkit) and with pkg-config): fits biased MF on a generated matrix, checks it beats
// the global mean on held-out ratings, saves, loads, and recommends the same items as before.
#include <mfkit/data.h>
#include <mfkit/evaluate.h>
#include <mfkit/model_file.h>
#include <mfkit/recommend.h>
#include <mfkit/registry.h>
#include <mfkit/split.h>
#include <mfkit/version.h>

#include <cmath>
#include <cstdio>
#include <string>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s MODEL_FILE\n", argv[0]);
    return 2;
  }
  try {
    mfkit::Interactions data = mfkit::synthetic_ratings({});
    mfkit::Split split = mfkit::random_split(data, 0.9, 1);
    auto model = mfkit::create_model("biased-mf");
    model->fit(split.train);
    double rmse = mfkit::evaluate_rating(*model, split.test)["rmse"].get<double>();
    double mean = split.train.mean_value(), sq = 0;
    for (float v : split.test.by_user().values) sq += (v - mean) * (v - mean);
    double baseline = std::sqrt(sq / split.test.nnz());
    mfkit::save_model(*model, argv[1]);
    auto loaded = mfkit::load_model(argv[1]);
    mfkit::RecommendOptions opt;
    opt.k = 5;
    auto before = mfkit::recommend(*model, {0, 1, 2}, opt);
    auto after = mfkit::recommend(*loaded, {0, 1, 2}, opt);
    bool same = before.size() == after.size();
    for (size_t u = 0; same && u < before.size(); ++u) {
      same = before[u].size() == after[u].size() && before[u].size() == 5;
      for (size_t j = 0; same && j < before[u].size(); ++j) same = before[u][j].index == after[u][j].index;
    }
    std::printf("mfkit %s: biased-mf test RMSE %.4f (global mean %.4f), reloaded top-5 %s\n", mfkit::version(), rmse,
                baseline, same ? "equal" : "DIFFERENT");
    return rmse < baseline && same ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "consumer: %s\n", e.what());
    return 1;
  }
}
