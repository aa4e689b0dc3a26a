// mfkit/model_file.h - the one model file format (specified in docs/model-format.md).
//
// A file is: magic "MFKITMDL", format version, a JSON header (model type, parameters, metadata,
// tensor directory), the tensors' bytes, and a trailer with a CRC-32 of everything before it.
// Files are written to a temporary file beside the target, flushed and renamed into place, so a
// reader never sees a half-written file and a crash never destroys the previous one.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "mfkit/model.h"

namespace mfkit {

constexpr uint32_t kModelFormatVersion = 1;

/// Element types. Persisted: values are only ever appended.
enum class DType : uint8_t { kF32 = 1, kF64 = 2, kI32 = 3, kI64 = 4, kU8 = 5, kStr = 6 };

/// A named n-dimensional array, little-endian, row-major. kStr holds NUL-terminated strings.
struct Tensor {
  DType dtype = DType::kF32;
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;

  static Tensor f32(const std::vector<float>& v, std::vector<int64_t> shape = {});
  static Tensor f64(const std::vector<double>& v, std::vector<int64_t> shape = {});
  static Tensor i32(const std::vector<int32_t>& v, std::vector<int64_t> shape = {});
  static Tensor i64(const std::vector<int64_t>& v, std::vector<int64_t> shape = {});
  static Tensor strings(const std::vector<std::string>& v);
  /// The same without a copy: the tensor points at v, which must outlive it unchanged (for a
  /// model's large arrays, written by save_model while the model is alive).
  static Tensor borrow(const std::vector<float>& v, std::vector<int64_t> shape = {});
  static Tensor borrow(const std::vector<int32_t>& v, std::vector<int64_t> shape = {});
  static Tensor borrow(const std::vector<int64_t>& v, std::vector<int64_t> shape = {});
  /// The tensor's bytes: `bytes`, or the borrowed array's.
  const uint8_t* data() const { return borrowed ? borrowed : bytes.data(); }
  size_t size() const { return borrowed ? borrowed_size : bytes.size(); }
  const uint8_t* borrowed = nullptr;
  size_t borrowed_size = 0;
  int64_t numel() const;
  std::vector<float> as_f32() const;
  std::vector<double> as_f64() const;
  std::vector<int32_t> as_i32() const;
  std::vector<int64_t> as_i64() const;
  std::vector<std::string> as_strings() const;
};

/// Looks up a tensor, checking its type and element count; ModelFileError when absent or wrong.
const Tensor& require_tensor(const TensorMap& m, const std::string& name, DType dtype, int64_t numel = -1);

struct ModelFile {
  std::string model_type;
  nlohmann::json params;  ///< the model's parameters
  nlohmann::json meta;    ///< free-form: mfkit version, dataset, split, metrics, creation time
  TensorMap tensors;
  uint32_t checksum = 0;  ///< the trailer's CRC-32 (set by read_model_file)
};

/// Writes atomically (temp file + fsync + rename); returns the CRC-32 in the trailer. Throws
/// Error on I/O failure.
uint32_t write_model_file(const std::string& path, const ModelFile& file);
/// Reads and verifies; ModelFileError names the path and what is wrong.
ModelFile read_model_file(const std::string& path);

/// Saves a fitted model with its parameters, id maps and seen items.
void save_model(const Model& model, const std::string& path, const nlohmann::json& meta = {});
/// Loads any registered model type; `meta` (optional) receives the stored metadata. `path` may
/// also be the manifest of a sharded model (a distributed run's `--sharded` output: one part per
/// rank beside it, each checksummed); its parts are joined into the one model they make.
std::unique_ptr<Model> load_model(const std::string& path, nlohmann::json* meta = nullptr);

}  // namespace mfkit
