// Internal: sharded model files. A distributed run with `--sharded` writes, instead of one file,
// one part per rank (`<out>.part-<r>-of-<P>`, an ordinary model file holding that rank's users
// and items) and a manifest at `<out>` naming the parts with their checksums. Rows are numbered
// by rank, so the parts stacked in rank order are the one file the same model would have made.
#pragma once

#include <string>
#include <vector>

#include "mfkit/model_file.h"

namespace mfkit {

/// The manifest's model_type.
inline constexpr const char* kShardedType = "sharded";

/// The manifest of `parts` (file names relative to the manifest, their CRC-32s) for a model of
/// `model_type`; tensors named in `same` hold one value that every part repeats.
ModelFile shard_manifest(const std::string& model_type, const nlohmann::json& params, const nlohmann::json& meta,
                         const std::vector<std::string>& parts, const std::vector<uint32_t>& checksums,
                         const std::vector<std::string>& same);

/// Reads the parts of `manifest` (read from `path`) and stacks them: every tensor is concatenated
/// along its first dimension in part order, but `seen.indptr` (offsets carried on) and the
/// manifest's `same` tensors (checked equal). ModelFileError names a missing, changed or
/// inconsistent part.
ModelFile join_shards(const std::string& path, const ModelFile& manifest);

}  // namespace mfkit
