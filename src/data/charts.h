// Internal: the Spotify charts format (regional daily files and the stacked charts_long.csv),
// shared by the loader and the dotify ingest store.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "mfkit/data.h"

namespace mfkit {

/// One chart line: a track's position and streams in one region.
struct ChartRow {
  std::string region;  ///< upper-case ISO 3166 alpha-2 code
  int32_t position = 0;
  std::string title, artist, url;
  int64_t streams = 0;
  int64_t line = 0;  ///< line number in its file
};

/// The `regional-*.csv` files of a folder, sorted; InputError when there is none.
std::vector<std::string> chart_files(const std::string& folder);

/// Upper-case region code from a name `regional-<cc>-daily-<anything>.csv`; "" for other names.
std::string chart_file_region(const std::string& path);

/// Every row of one regional file (region from the file name) or of charts_long.csv (a Region
/// column). The whole file is checked: InputError names the file and line of the first problem.
std::vector<ChartRow> read_chart_file(const std::string& path);

/// Countries x tracks (by URL), values = streams summed; labels: country names, titles, artists.
LoadResult charts_to_data(const std::vector<ChartRow>& rows);

/// A folder of regional files, one regional file, or charts_long.csv.
LoadResult load_spotify_charts(const std::string& path);

/// A generated chart for when spotify-charts is absent: 8 countries in two groups (CO MX AR ES,
/// TR DE FR GB), 160 tracks, each in its home country's chart, in each other country of its
/// group with probability 1/2 and in each of the other group with 1/8; streams fall with the
/// track's reach. Deterministic in `seed`.
LoadResult synthetic_charts(uint64_t seed = 1);

}  // namespace mfkit
