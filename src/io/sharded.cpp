#include "io/sharded.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>

#include "mfkit/error.h"

namespace mfkit {

ModelFile shard_manifest(const std::string& model_type, const nlohmann::json& params, const nlohmann::json& meta,
                         const std::vector<std::string>& parts, const std::vector<uint32_t>& checksums,
                         const std::vector<std::string>& same) {
  ModelFile m;
  m.model_type = kShardedType;
  m.params = params;
  nlohmann::json list = nlohmann::json::array();
  for (size_t r = 0; r < parts.size(); ++r) list.push_back({{"file", parts[r]}, {"crc32", checksums[r]}});
  m.meta = {{"model_type", model_type}, {"parts", list}, {"same", same}, {"meta", meta}};
  return m;
}

ModelFile join_shards(const std::string& path, const ModelFile& manifest) {
  ModelFile out;
  std::vector<std::string> same;
  nlohmann::json parts;
  try {
    out.model_type = manifest.meta.at("model_type").get<std::string>();
    same = manifest.meta.at("same").get<std::vector<std::string>>();
    parts = manifest.meta.at("parts");
    out.meta = manifest.meta.value("meta", nlohmann::json::object());
  } catch (const std::exception& e) {
    throw ModelFileError(path, std::string("corrupted sharded manifest: ") + e.what());
  }
  out.params = manifest.params;
  if (parts.empty()) throw ModelFileError(path, "the sharded manifest lists no parts");
  const std::filesystem::path dir = std::filesystem::path(path).parent_path();
  if (!parts.is_array()) throw ModelFileError(path, "corrupted sharded manifest: 'parts' is not a list");
  for (size_t r = 0; r < parts.size(); ++r) {
    std::string name;
    uint32_t crc = 0;
    try {
      name = parts[r].at("file").get<std::string>();
      crc = parts[r].at("crc32").get<uint32_t>();
    } catch (const std::exception& e) {
      throw ModelFileError(path, fmt::format("corrupted sharded manifest: part {}: {}", r, e.what()));
    }
    if (name.empty())
      throw ModelFileError(path, fmt::format("corrupted sharded manifest: part {} has no file name", r));
    const std::string file = (dir / name).string();
    ModelFile p = read_model_file(file);  // checks the part's own checksum
    if (p.checksum != crc)
      throw ModelFileError(
          path, fmt::format("part {} ({}) is not the one this manifest was written with (checksum)", r, file));
    if (p.model_type != out.model_type)
      throw ModelFileError(
          path, fmt::format("part {} ({}) holds a {} model, the manifest a {}", r, file, p.model_type, out.model_type));
    if (r == 0) {
      out.tensors = std::move(p.tensors);
      continue;
    }
    if (p.tensors.size() != out.tensors.size())
      throw ModelFileError(path, fmt::format("part {} ({}) has other tensors than part 0", r, file));
    for (auto& [name, t] : p.tensors) {
      auto it = out.tensors.find(name);
      if (it == out.tensors.end() || it->second.dtype != t.dtype || it->second.shape.size() != t.shape.size() ||
          t.shape.empty())
        throw ModelFileError(path, fmt::format("part {} ({}): tensor '{}' does not match part 0's", r, file, name));
      Tensor& acc = it->second;
      if (std::find(same.begin(), same.end(), name) != same.end()) {
        if (acc.bytes != t.bytes)
          throw ModelFileError(path, fmt::format("part {} ({}): '{}' differs from part 0's", r, file, name));
        continue;
      }
      if (name == "seen.indptr") {  // carry the offsets on: [0, a, b] + [0, c] -> [0, a, b, b + c]
        std::vector<int64_t> a = acc.as_i64(), b = t.as_i64();
        if (a.empty() || b.empty())
          throw ModelFileError(path, fmt::format("part {} ({}): 'seen.indptr' is empty", r, file));
        const int64_t base = a.back();
        for (size_t j = 1; j < b.size(); ++j) a.push_back(base + b[j]);
        acc = Tensor::i64(a);
        continue;
      }
      for (size_t d = 1; d < t.shape.size(); ++d)
        if (t.shape[d] != acc.shape[d])
          throw ModelFileError(path,
                               fmt::format("part {} ({}): tensor '{}' has other trailing dimensions", r, file, name));
      acc.shape[0] += t.shape[0];
      acc.bytes.insert(acc.bytes.end(), t.bytes.begin(), t.bytes.end());
    }
  }
  return out;
}

}  // namespace mfkit
