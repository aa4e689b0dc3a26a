// Internal: wall-clock time as text.
#pragma once

#include <string>

namespace mfkit {

/// The current UTC time as ISO 8601, e.g. 2026-11-23T18:25:11Z.
std::string utc_timestamp();

}  // namespace mfkit
