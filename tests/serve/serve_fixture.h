// A tiny dotify model for the serving tests: 6 countries x 12 tracks with names and artists.
#pragma once

#include <string>

#include "data/charts.h"
#include "mfkit/model_file.h"
#include "mfkit/registry.h"
#include "test_util.h"

namespace mfkit::test {

/// Fits implicit-als on a small chart and saves it to `path` (factors `f`, so two calls with
/// different f give distinguishable files).
inline void write_chart_model(const std::string& path, int f = 4, uint64_t seed = 1) {
  const char* countries[] = {"CO", "TR", "DE", "MX", "FR", "US"};
  std::vector<ChartRow> rows;
  for (int c = 0; c < 6; ++c)
    for (int t = 0; t < 12; ++t)
      if ((c + t) % 3 != 0 || t == c) {
        ChartRow r;
        r.region = countries[c];
        r.url = "https://open.spotify.com/track/t" + std::to_string(t);
        r.title = "Song " + std::to_string(t);
        r.artist = "Artist " + std::to_string(t % 4);
        r.streams = 1000 * (1 + (c * 7 + t * 3) % 11);
        rows.push_back(r);
      }
  LoadResult data = charts_to_data(rows);
  auto model = create_model("implicit-als", "dotify", {{"factors", f}, {"iterations", 5}});
  FitOptions fo;
  fo.ctx.seed = seed;
  fo.labels = &data.labels;
  model->fit(data.data, fo);
  save_model(*model, path);
}

}  // namespace mfkit::test
