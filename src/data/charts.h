// Internal: the Spotify charts loader (a folder of regional files, one file, or charts_long.csv).
#pragma once

#include <string>

#include "mfkit/data.h"

namespace mfkit {

LoadResult load_spotify_charts(const std::string& path);

}  // namespace mfkit
