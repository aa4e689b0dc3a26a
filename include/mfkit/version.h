// mfkit/version.h - which mfkit this is.
#pragma once

namespace mfkit {

/// The release, e.g. "0.1.0" (CMake's project version).
const char* version();
/// The source revision it was built from (`git describe --always --dirty`), or "unknown".
const char* source_revision();

}  // namespace mfkit
