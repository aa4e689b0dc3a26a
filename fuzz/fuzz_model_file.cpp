// The model-file reader on any bytes (a sharded manifest and the HNSW section included): a file
// is refused with mfkit::ModelFileError naming it, or it loads, and then every query a user or
// the server can make of it answers or throws mfkit::Error: a file that passes load can never
// crash a query (issue 38).
#include <unistd.h>
#include <zlib.h>

#include <cstring>

#include <filesystem>
#include <fstream>
#include <string_view>

#include "fuzz/fuzz_util.h"
#include "mfkit/error.h"
#include "mfkit/index.h"
#include "mfkit/model_file.h"
#include "mfkit/recommend.h"

namespace {

// A crafted file carries a valid checksum (anyone can compute one): the trailer's CRC-32 is made
// to match the mutated bytes, so the fuzzer gets past it to everything a model reads.
std::string with_valid_crc(std::string_view in) {
  std::string s(in);
  if (s.size() >= 12 && s.compare(s.size() - 8, 8, "MFKITEND") == 0) {
    const uint32_t crc = static_cast<uint32_t>(crc32_z(0L, reinterpret_cast<const Bytef*>(s.data()), s.size() - 12));
    std::memcpy(s.data() + s.size() - 12, &crc, 4);
  }
  return s;
}

// An input holding "\n--mfkit-part--\n" is a sharded model: a manifest and its parts, written as
// sh.mfk and sh.mfk.part-K-of-N in one folder (the names the seed's manifest lists), so that the
// fuzzer mutates the manifest and the parts together.
std::string as_files(const uint8_t* data, size_t size) {
  static const std::string_view kSep = "\n--mfkit-part--\n";
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  if (in.find(kSep) == std::string_view::npos) {
    const std::string fixed = with_valid_crc(in);
    return mfkit::fuzz::as_file(reinterpret_cast<const uint8_t*>(fixed.data()), fixed.size());
  }
  static const std::string dir = [] {
    std::string d = (std::filesystem::exists("/dev/shm") ? std::string("/dev/shm")
                                                         : std::filesystem::temp_directory_path().string()) +
                    "/mfkit-fuzz-" + std::to_string(::getpid());
    std::filesystem::create_directories(d);
    return d;
  }();
  std::vector<std::string_view> pieces;
  for (size_t at = 0;;) {
    const size_t next = in.find(kSep, at);
    pieces.push_back(in.substr(at, next == std::string_view::npos ? std::string_view::npos : next - at));
    if (next == std::string_view::npos) break;
    at = next + kSep.size();
  }
  const size_t parts = std::min<size_t>(pieces.size() - 1, 4);
  for (size_t k = 0; k <= parts; ++k) {
    const std::string name =
        k == 0 ? "/sh.mfk" : "/sh.mfk.part-" + std::to_string(k - 1) + "-of-" + std::to_string(parts);
    const std::string fixed = with_valid_crc(pieces[k]);
    std::ofstream(dir + name, std::ios::binary | std::ios::trunc)
        .write(fixed.data(), static_cast<std::streamsize>(fixed.size()));
  }
  return dir + "/sh.mfk";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace mfkit;
  std::unique_ptr<Model> m;
  try {
    m = load_model(as_files(data, size));
  } catch (const ModelFileError&) {
    return 0;
  }
  if (!m->fitted()) std::abort();
  const int32_t users = m->n_users(), items = m->n_items();
  auto attempt = [](auto&& f) {
    try {
      f();
    } catch (const Error&) {
    }
  };
  for (bool exact : {true, false}) {
    RecommendOptions o;
    o.k = 5;
    o.exact = exact;
    if (users > 0) attempt([&] { recommend(*m, {0, users - 1}, o, Context{1, 1}); });
    if (items > 0) attempt([&] { similar_items(*m, {0, items - 1}, o); });
    if (items > 0) attempt([&] { recommend_new_user(*m, {0}, {1.0f}, o); });
  }
  if (users > 0) attempt([&] { similar_users(*m, 0, 5); });
  if (users > 0 && items > 0) attempt([&] { m->predict_one(users - 1, items - 1); });
  if (users > 0 && items > 0) attempt([&] { m->explain(0, 0, 3); });
  return 0;
}
