#include "mfkit/model_file.h"

#include <zlib.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>

#include "core/json.h"
#include "data/text_file.h"
#include "io/atomic_file.h"
#include "io/sharded.h"
#include "mfkit/error.h"
#include "mfkit/index.h"
#include "mfkit/registry.h"
#include "mfkit/version.h"

namespace mfkit {

namespace {

constexpr char kMagic[8] = {'M', 'F', 'K', 'I', 'T', 'M', 'D', 'L'};
constexpr char kEnd[8] = {'M', 'F', 'K', 'I', 'T', 'E', 'N', 'D'};
constexpr size_t kPrefix = 8 + 4 + 4 + 8;  // magic, version, flags, header length
constexpr size_t kTrailer = 4 + 8;         // crc32, end magic

size_t dtype_size(DType t) {
  switch (t) {
    case DType::kF32:
    case DType::kI32:
      return 4;
    case DType::kF64:
    case DType::kI64:
      return 8;
    case DType::kU8:
    case DType::kStr:
      return 1;
  }
  return 0;
}

const char* dtype_name(DType t) {
  switch (t) {
    case DType::kF32:
      return "f32";
    case DType::kF64:
      return "f64";
    case DType::kI32:
      return "i32";
    case DType::kI64:
      return "i64";
    case DType::kU8:
      return "u8";
    case DType::kStr:
      return "str";
  }
  return "?";
}

// A tensor that points at v (Tensor::borrow), its shape checked against v's size.
template <class T>
Tensor make_borrowed(DType t, const std::vector<T>& v, std::vector<int64_t> shape) {
  Tensor x;
  x.dtype = t;
  x.shape = shape.empty() ? std::vector<int64_t>{static_cast<int64_t>(v.size())} : std::move(shape);
  x.borrowed = reinterpret_cast<const uint8_t*>(v.data());
  x.borrowed_size = v.size() * sizeof(T);
  if (x.numel() != static_cast<int64_t>(v.size()))
    throw Error("tensor: shape does not match the data");  // the caller's
  return x;
}

// The same holding its own copy of v.
template <class T>
Tensor make(DType t, const std::vector<T>& v, std::vector<int64_t> shape) {
  Tensor x = make_borrowed(t, v, std::move(shape));
  x.bytes.assign(x.borrowed, x.borrowed + x.borrowed_size);
  x.borrowed = nullptr;
  x.borrowed_size = 0;
  return x;
}

template <class T>
std::vector<T> view(const Tensor& x, DType want) {
  if (x.dtype != want)
    throw Error(std::string("tensor: expected ") + dtype_name(want) + ", found " + dtype_name(x.dtype));
  std::vector<T> v(x.size() / sizeof(T));
  if (!v.empty()) std::memcpy(v.data(), x.data(), v.size() * sizeof(T));
  return v;
}

template <class T>
void put(std::string& s, T v) {
  s.append(reinterpret_cast<const char*>(&v), sizeof v);
}
template <class T>
T get(const std::string& s, size_t at) {
  T v;
  std::memcpy(&v, s.data() + at, sizeof v);
  return v;
}

}  // namespace

Tensor Tensor::f32(const std::vector<float>& v, std::vector<int64_t> s) { return make(DType::kF32, v, std::move(s)); }
Tensor Tensor::f64(const std::vector<double>& v, std::vector<int64_t> s) { return make(DType::kF64, v, std::move(s)); }
Tensor Tensor::i32(const std::vector<int32_t>& v, std::vector<int64_t> s) { return make(DType::kI32, v, std::move(s)); }
Tensor Tensor::i64(const std::vector<int64_t>& v, std::vector<int64_t> s) { return make(DType::kI64, v, std::move(s)); }
Tensor Tensor::borrow(const std::vector<float>& v, std::vector<int64_t> s) {
  return make_borrowed(DType::kF32, v, std::move(s));
}
Tensor Tensor::borrow(const std::vector<int32_t>& v, std::vector<int64_t> s) {
  return make_borrowed(DType::kI32, v, std::move(s));
}
Tensor Tensor::borrow(const std::vector<int64_t>& v, std::vector<int64_t> s) {
  return make_borrowed(DType::kI64, v, std::move(s));
}
Tensor Tensor::strings(const std::vector<std::string>& v) {
  Tensor x;
  x.dtype = DType::kStr;
  x.shape = {static_cast<int64_t>(v.size())};
  for (const auto& s : v) {
    if (s.find('\0') != std::string::npos) throw Error("tensor: strings may not contain NUL");
    x.bytes.insert(x.bytes.end(), s.begin(), s.end());
    x.bytes.push_back(0);
  }
  return x;
}
int64_t Tensor::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}
std::vector<float> Tensor::as_f32() const { return view<float>(*this, DType::kF32); }
std::vector<double> Tensor::as_f64() const { return view<double>(*this, DType::kF64); }
std::vector<int32_t> Tensor::as_i32() const { return view<int32_t>(*this, DType::kI32); }
std::vector<int64_t> Tensor::as_i64() const { return view<int64_t>(*this, DType::kI64); }
std::vector<std::string> Tensor::as_strings() const {
  if (dtype != DType::kStr) throw Error("tensor: expected str");
  std::vector<std::string> out;
  size_t start = 0;
  const uint8_t* b = data();
  for (size_t i = 0; i < size(); ++i)
    if (b[i] == 0) {
      out.emplace_back(reinterpret_cast<const char*>(b) + start, i - start);
      start = i + 1;
    }
  return out;
}

const Tensor& require_tensor(const TensorMap& m, const std::string& name, DType dtype, int64_t numel) {
  auto it = m.find(name);
  if (it == m.end()) throw Error("model file: tensor '" + name + "' is missing");
  if (it->second.dtype != dtype)
    throw Error("model file: tensor '" + name + "' has type " + dtype_name(it->second.dtype) + ", expected " +
                dtype_name(dtype));
  if (numel >= 0 && it->second.numel() != numel)
    throw Error("model file: tensor '" + name + "' has " + std::to_string(it->second.numel()) + " elements, expected " +
                std::to_string(numel));
  return it->second;
}

uint32_t write_model_file(const std::string& path, const ModelFile& file) {
  nlohmann::json header;
  header["model_type"] = file.model_type;
  header["params"] = file.params;
  header["meta"] = file.meta.is_null() ? nlohmann::json::object() : file.meta;
  nlohmann::json dir = nlohmann::json::array();
  uint64_t offset = 0;
  for (const auto& [name, t] : file.tensors) {
    if (t.dtype != DType::kStr && static_cast<size_t>(t.numel()) * dtype_size(t.dtype) != t.size())
      throw Error("model file: tensor '" + name + "' has a shape that does not match its bytes");
    dir.push_back({{"name", name},
                   {"dtype", dtype_name(t.dtype)},
                   {"dtype_code", static_cast<int>(t.dtype)},
                   {"shape", t.shape},
                   {"offset", offset},
                   {"nbytes", t.size()}});
    offset += t.size();
  }
  header["tensors"] = dir;
  std::string h = header.dump();
  std::string head;
  head.reserve(kPrefix + h.size());
  head.append(kMagic, 8);
  put<uint32_t>(head, kModelFormatVersion);
  put<uint32_t>(head, 0);
  put<uint64_t>(head, h.size());
  head += h;
  // The tensors are written from where they are (a large model is not copied into one buffer);
  // the checksum runs over the same pieces.
  std::vector<std::string_view> pieces{head};
  for (const auto& [name, t] : file.tensors) pieces.emplace_back(reinterpret_cast<const char*>(t.data()), t.size());
  uLong crc = crc32_z(0L, Z_NULL, 0);
  for (std::string_view p : pieces) crc = crc32_z(crc, reinterpret_cast<const Bytef*>(p.data()), p.size());
  std::string tail;
  put<uint32_t>(tail, static_cast<uint32_t>(crc));
  tail.append(kEnd, 8);
  pieces.push_back(tail);
  write_file_atomically(path, pieces, "model file");
  return static_cast<uint32_t>(crc);
}

namespace {

// Reads a model file front to back, never more than its header declares: the prefix, the header,
// then each tensor in file order and the trailer, the CRC running over them as they come.
class BoundedReader {
 public:
  BoundedReader(const std::string& path) : path_(path) {
    try {
      fd_ = open_input(path, st_);
    } catch (const InputError& e) {
      throw ModelFileError(path, e.problem());
    }
    crc_ = crc32_z(0L, Z_NULL, 0);
  }
  ~BoundedReader() { ::close(fd_); }
  bool regular() const { return S_ISREG(st_.st_mode); }
  uint64_t file_size() const { return static_cast<uint64_t>(st_.st_size); }

  // Exactly n bytes into out (grown as they arrive, so a pipe that declares more than it holds
  // costs only what it sent); false at a premature end.
  bool read(size_t n, std::string& out, bool checksum = true) {
    out.clear();
    if (regular()) out.reserve(n);
    char buf[1 << 16];
    while (out.size() < n) {
      ssize_t r = ::read(fd_, buf, std::min(sizeof buf, n - out.size()));
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) throw ModelFileError(path_, std::string("read error: ") + std::strerror(errno));
      if (r == 0) return false;
      out.append(buf, static_cast<size_t>(r));
    }
    if (checksum) crc_ = crc32_z(crc_, reinterpret_cast<const Bytef*>(out.data()), out.size());
    return true;
  }
  bool read_into(size_t n, std::vector<uint8_t>& out) {
    std::string s;
    if (!read(n, s)) return false;
    out.assign(s.begin(), s.end());
    return true;
  }
  bool at_end() {
    char c;
    ssize_t r;
    do r = ::read(fd_, &c, 1);
    while (r < 0 && errno == EINTR);
    return r == 0;
  }
  uint32_t crc() const { return static_cast<uint32_t>(crc_); }

 private:
  std::string path_;
  int fd_ = -1;
  struct stat st_ {};
  uLong crc_;
};

struct DirEntry {
  std::string name;
  Tensor tensor;
  uint64_t offset = 0, nbytes = 0;
};

ModelFile read_bounded(const std::string& path, bool& past_prefix) {
  BoundedReader in(path);
  std::string prefix;
  if (!in.read(kPrefix, prefix)) {
    if (prefix.size() < 8 || std::memcmp(prefix.data(), kMagic, 8) != 0)
      throw ModelFileError(path, "not an mfkit model file (bad magic)");
    throw ModelFileError(path, "truncated (file too short)");
  }
  if (std::memcmp(prefix.data(), kMagic, 8) != 0) throw ModelFileError(path, "not an mfkit model file (bad magic)");
  uint32_t version = get<uint32_t>(prefix, 8);
  if (version == 0 || version > kModelFormatVersion)
    throw ModelFileError(path, "format version " + std::to_string(version) +
                                   " is not supported (this build reads up to " + std::to_string(kModelFormatVersion) +
                                   ")");
  past_prefix = true;  // from here a damaged file may say more (see damage())
  const uint64_t hlen = get<uint64_t>(prefix, 16);
  const uint64_t room = in.regular() ? (in.file_size() >= kPrefix + kTrailer ? in.file_size() - kPrefix - kTrailer : 0)
                                     : uint64_t(1) << 30;  // a pipe: headers are kilobytes
  if (in.regular() && in.file_size() < kPrefix + kTrailer) throw ModelFileError(path, "truncated (file too short)");
  if (hlen > room)
    throw ModelFileError(path,
                         "truncated or corrupted (header length " + std::to_string(hlen) + " is past the file's end)");
  std::string htext;
  if (!in.read(static_cast<size_t>(hlen), htext)) throw ModelFileError(path, "truncated (inside the header)");
  nlohmann::json h;
  try {
    h = parse_json(htext);
  } catch (const JsonError& e) {
    throw ModelFileError(path, std::string("corrupted header: ") + e.what());
  }
  htext = std::string();
  ModelFile f;
  std::vector<DirEntry> dir;
  uint64_t data_len = 0;
  try {
    f.model_type = h.at("model_type").get<std::string>();
    f.params = h.at("params");
    f.meta = h.value("meta", nlohmann::json::object());
    for (const auto& t : h.at("tensors")) {
      DirEntry e;
      e.name = t.at("name").get<std::string>();
      int code = t.at("dtype_code").get<int>();
      if (code < 1 || code > 6) throw Error("unknown tensor type code " + std::to_string(code));
      e.tensor.dtype = static_cast<DType>(code);
      e.tensor.shape = t.at("shape").get<std::vector<int64_t>>();
      e.offset = t.at("offset").get<uint64_t>();
      e.nbytes = t.at("nbytes").get<uint64_t>();
      uint64_t numel = 1;
      for (int64_t d : e.tensor.shape) {
        if (d < 0) throw Error("tensor '" + e.name + "' has a negative dimension");
        if (d != 0 && numel > (uint64_t(1) << 62) / static_cast<uint64_t>(d))
          throw Error("tensor '" + e.name + "' has more elements than any file can hold");
        numel *= static_cast<uint64_t>(d);
      }
      if (e.tensor.dtype != DType::kStr && numel * dtype_size(e.tensor.dtype) != e.nbytes)
        throw Error("tensor '" + e.name + "' shape does not match its size");
      if (e.nbytes > (uint64_t(1) << 62) || e.offset > (uint64_t(1) << 62))
        throw Error("tensor '" + e.name + "' lies outside the file");
      dir.push_back(std::move(e));
    }
    // The tensors tile the data part in order, with no gap and no overlap (as written): then the
    // declared size is their sum, and a file of another size is refused before anything is read.
    std::sort(dir.begin(), dir.end(), [](const DirEntry& a, const DirEntry& b) { return a.offset < b.offset; });
    for (const DirEntry& e : dir) {
      if (e.offset != data_len) throw Error("tensor '" + e.name + "' does not start where the previous one ends");
      data_len += e.nbytes;
    }
    for (size_t k = 1; k < dir.size(); ++k)
      if (dir[k].name == dir[k - 1].name) throw Error("tensor '" + dir[k].name + "' is listed twice");
  } catch (const ModelFileError&) {
    throw;
  } catch (const std::exception& e) {
    throw ModelFileError(path, std::string("corrupted header: ") + e.what());
  }
  if (in.regular() && in.file_size() != kPrefix + hlen + data_len + kTrailer)
    throw ModelFileError(path, "the file is " + std::to_string(in.file_size()) + " bytes, its header declares " +
                                   std::to_string(kPrefix + hlen + data_len + kTrailer) + " (truncated or extended)");
  for (DirEntry& e : dir) {
    if (!in.read_into(static_cast<size_t>(e.nbytes), e.tensor.bytes))
      throw ModelFileError(path, "truncated (inside tensor '" + e.name + "')");
  }
  const uint32_t crc = in.crc();
  std::string tail;
  if (!in.read(kTrailer, tail, false) || std::memcmp(tail.data() + 4, kEnd, 8) != 0)
    throw ModelFileError(path, "truncated (end marker missing)");
  if (!in.at_end()) throw ModelFileError(path, "has bytes past its end marker");
  const uint32_t stored = get<uint32_t>(tail, 0);
  if (stored != crc) throw ModelFileError(path, "corrupted (checksum mismatch)");
  f.checksum = stored;
  for (DirEntry& e : dir) f.tensors[e.name] = std::move(e.tensor);
  return f;
}

// For a regular file that read_bounded refused: the plainer reason when there is one, as a
// damaged (not crafted) file shows it: its end marker gone (truncated) or its checksum wrong.
std::string damage(const std::string& path) {
  struct stat st;
  // Regular files only, looked at before opening: opening a pipe again would wait for a writer.
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return "";
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return "";
  std::string reason;
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && static_cast<uint64_t>(st.st_size) >= kPrefix + kTrailer) {
    const uint64_t size = static_cast<uint64_t>(st.st_size);
    char tail[kTrailer];
    if (::pread(fd, tail, kTrailer, static_cast<off_t>(size - kTrailer)) != static_cast<ssize_t>(kTrailer)) {
      reason = "";
    } else if (std::memcmp(tail + 4, kEnd, 8) != 0) {
      reason = "truncated (end marker missing)";
    } else {
      uLong crc = crc32_z(0L, Z_NULL, 0);
      std::vector<char> buf(1 << 16);
      uint64_t at = 0;
      while (at < size - kTrailer) {
        ssize_t r =
            ::pread(fd, buf.data(), std::min<uint64_t>(buf.size(), size - kTrailer - at), static_cast<off_t>(at));
        if (r <= 0) break;
        crc = crc32_z(crc, reinterpret_cast<const Bytef*>(buf.data()), static_cast<size_t>(r));
        at += static_cast<uint64_t>(r);
      }
      uint32_t stored;
      std::memcpy(&stored, tail, 4);
      if (at == size - kTrailer && stored != static_cast<uint32_t>(crc)) reason = "corrupted (checksum mismatch)";
    }
  }
  ::close(fd);
  return reason;
}

}  // namespace

ModelFile read_model_file(const std::string& path) {
  bool past_prefix = false;
  try {
    return read_bounded(path, past_prefix);
  } catch (const ModelFileError& e) {
    const std::string why = past_prefix ? damage(path) : "";
    if (why.empty()) throw;
    throw ModelFileError(path, why);
  }
}

void save_model(const Model& model, const std::string& path, const nlohmann::json& meta) {
  if (!model.fitted()) throw Error("save: the model has not been fitted");
  ModelFile f;
  f.model_type = model.type();
  f.params = model.params();
  f.meta = meta.is_null() ? nlohmann::json::object() : meta;
  f.meta["mfkit_version"] = version();
  f.meta["mfkit_revision"] = source_revision();
  f.meta["created_unix"] = static_cast<int64_t>(std::time(nullptr));
  f.tensors["ids.users"] = Tensor::strings(model.user_ids()->names());
  f.tensors["ids.items"] = Tensor::strings(model.item_ids()->names());
  // The large arrays are written from where they are (`borrow`), not copied first.
  f.tensors["seen.indptr"] = Tensor::borrow(model.seen().indptr);
  f.tensors["seen.indices"] = Tensor::borrow(model.seen().indices);
  const Labels& l = model.labels();
  if (!l.user_names.empty()) f.tensors["labels.user_names"] = Tensor::strings(l.user_names);
  if (!l.item_titles.empty()) f.tensors["labels.item_titles"] = Tensor::strings(l.item_titles);
  if (!l.item_categories.empty()) f.tensors["labels.item_categories"] = Tensor::strings(l.item_categories);
  TensorMap own;
  model.save_tensors(own);
  for (auto& [k, v] : own) f.tensors["model." + k] = std::move(v);
  if (model.index()) model.index()->save(f.tensors);
  write_model_file(path, f);
}

std::unique_ptr<Model> load_model(const std::string& path, nlohmann::json* meta) {
  ModelFile f = read_model_file(path);
  if (f.model_type == kShardedType) f = join_shards(path, f);
  std::unique_ptr<Model> m;
  if (f.model_type == "meta-mf")
    throw ModelFileError(
        path, "a meta-mf model imputes whole matrices: use mfkit impute (MetaMf::load), not a user/item model command");
  try {
    m = create_model(f.model_type);
  } catch (const Error& e) {
    throw ModelFileError(path, e.what());
  }
  try {
    m->set_params(f.params);
    auto users = IdMap::from_names(require_tensor(f.tensors, "ids.users", DType::kStr).as_strings());
    auto items = IdMap::from_names(require_tensor(f.tensors, "ids.items", DType::kStr).as_strings());
    Csr seen;
    seen.indptr = require_tensor(f.tensors, "seen.indptr", DType::kI64, users->size() + 1).as_i64();
    seen.indices = require_tensor(f.tensors, "seen.indices", DType::kI32).as_i32();
    if (seen.indptr.front() != 0 || seen.indptr.back() != static_cast<int64_t>(seen.indices.size()))
      throw Error("seen items index is inconsistent");
    for (size_t u = 0; u + 1 < seen.indptr.size(); ++u)
      if (seen.indptr[u] > seen.indptr[u + 1]) throw Error("seen items index is inconsistent");
    for (int32_t i : seen.indices)
      if (i < 0 || i >= items->size()) throw Error("seen items refer to an unknown item");
    TensorMap own;
    for (auto& [k, v] : f.tensors)
      if (k.rfind("model.", 0) == 0) own[k.substr(6)] = std::move(v);
    Labels labels;
    auto opt_strings = [&](const char* name, int64_t n) {
      auto it = f.tensors.find(name);
      if (it == f.tensors.end()) return std::vector<std::string>{};
      auto v = require_tensor(f.tensors, name, DType::kStr, n).as_strings();
      if (static_cast<int64_t>(v.size()) != n) throw Error(std::string("tensor '") + name + "' has the wrong length");
      return v;
    };
    labels.user_names = opt_strings("labels.user_names", users->size());
    labels.item_titles = opt_strings("labels.item_titles", items->size());
    labels.item_categories = opt_strings("labels.item_categories", items->size());
    m->restore_base(std::move(users), std::move(items), std::move(seen));
    m->set_labels(std::move(labels));
    m->load_tensors(own);
    if (ItemIndex::present(f.tensors)) m->set_index(ItemIndex::load(f.tensors, *m));
  } catch (const ModelFileError&) {
    throw;
  } catch (const Error& e) {
    throw ModelFileError(path, e.what());
  } catch (const nlohmann::json::exception& e) {
    throw ModelFileError(path, std::string("corrupted: ") + e.what());
  } catch (const std::out_of_range& e) {
    throw ModelFileError(path, std::string("corrupted: ") + e.what());
  }
  if (meta) *meta = f.meta;
  return m;
}

}  // namespace mfkit
