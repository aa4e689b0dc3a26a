#include "dist/checkpoint.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "io/atomic_file.h"
#include "mfkit/error.h"
#include "mfkit/model_file.h"

namespace mfkit::dist {

namespace fs = std::filesystem;

namespace {

// Top-level keys whose values differ between two settings objects, for the refusal message.
std::string differences(const nlohmann::json& a, const nlohmann::json& b) {
  std::string out;
  for (auto it = a.begin(); it != a.end(); ++it)
    if (!b.contains(it.key()) || b[it.key()] != *it) {
      if (it->is_object() && b.contains(it.key()) && b[it.key()].is_object()) {
        for (auto p = it->begin(); p != it->end(); ++p)
          if (!b[it.key()].contains(p.key()) || b[it.key()][p.key()] != *p)
            out += fmt::format("{}{}.{} was {}, now {}", out.empty() ? "" : "; ", it.key(), p.key(), p->dump(),
                               b[it.key()].value(p.key(), nlohmann::json()).dump());
      } else {
        out += fmt::format("{}{} was {}, now {}", out.empty() ? "" : "; ", it.key(), it->dump(),
                           b.value(it.key(), nlohmann::json()).dump());
      }
    }
  return out;
}

}  // namespace

Checkpoint::Checkpoint(Communicator& comm, CheckpointOptions opt, nlohmann::json settings)
    : comm_(comm), opt_(std::move(opt)), settings_(std::move(settings)) {
  if (opt_.every < 1) throw ParamError(fmt::format("--checkpoint-every {} must be at least 1", opt_.every));
  std::error_code ec;
  fs::create_directories(opt_.dir, ec);
  if (ec) throw Error(fmt::format("checkpoint: cannot create folder {}: {}", opt_.dir, ec.message()));
}

std::string Checkpoint::part_path(int iteration) const {
  return fmt::format("{}/iter-{}/rank-{}-of-{}.mfk", opt_.dir, iteration, comm_.rank(), comm_.size());
}

std::string Checkpoint::latest_path() const {
  return fmt::format("{}/rank-{}-of-{}.latest", opt_.dir, comm_.rank(), comm_.size());
}

int Checkpoint::restore(const State& state) {
  if (!opt_.resume) return 0;
  int mine = 0;
  if (std::ifstream f(latest_path()); f) f >> mine;
  // A folder written by another number of ranks has no pointer for this layout.
  if (mine == 0)
    for (const auto& e : fs::directory_iterator(opt_.dir))
      if (e.path().extension() == ".latest" &&
          e.path().filename().string().find(fmt::format("-of-{}.", comm_.size())) == std::string::npos)
        throw ParamError(fmt::format("--resume: {} holds a checkpoint of another number of ranks ({}); this job has {}",
                                     opt_.dir, e.path().filename().string(), comm_.size()));
  const std::vector<int64_t> all = comm_.allgather(mine, "checkpoint: agree on the iteration");
  const int64_t t = *std::min_element(all.begin(), all.end());
  if (t == 0) {
    if (*std::max_element(all.begin(), all.end()) > 0)
      throw Error(fmt::format("--resume: some ranks have no checkpoint in {} (rank iterations: {})", opt_.dir,
                              fmt::join(all, ", ")));
    return 0;  // nothing saved yet: start from the beginning
  }
  comm_.all_or_none("checkpoint: read", "read its checkpoint", [&] {
    ModelFile f = read_model_file(part_path(static_cast<int>(t)));
    if (f.model_type != "checkpoint") throw Error(part_path(static_cast<int>(t)) + " is not a checkpoint");
    if (f.params != settings_)
      throw ParamError(fmt::format("--resume: the checkpoint in {} was made with other settings: {}", opt_.dir,
                                   differences(f.params, settings_)));
    for (const StateArray& a : state) {
      const std::vector<float> x =
          require_tensor(f.tensors, a.name, DType::kF32, static_cast<int64_t>(a.size)).as_f32();
      std::copy(x.begin(), x.end(), a.data);
    }
  });
  saved_ = static_cast<int>(t);
  return saved_;
}

void Checkpoint::after(int iteration, const State& state) {
  if (iteration % opt_.every != 0) return;
  // The pointer moves only once every rank holds this generation.
  comm_.all_or_none("checkpoint: write", "write its checkpoint", [&] {
    ModelFile f;
    f.model_type = "checkpoint";
    f.params = settings_;
    f.meta = {{"iteration", iteration}, {"rank", comm_.rank()}, {"ranks", comm_.size()}};
    for (const StateArray& a : state) f.tensors[a.name] = Tensor::f32(std::vector<float>(a.data, a.data + a.size));
    fs::create_directories(fs::path(part_path(iteration)).parent_path());
    write_model_file(part_path(iteration), f);
  });
  write_file_atomically(latest_path(), std::to_string(iteration) + "\n", "checkpoint pointer");
  if (saved_ > 0) {  // the generation before the previous one is no longer needed by anyone
    const int old = saved_ - opt_.every;
    std::error_code ec;
    if (old > 0) {
      fs::remove(part_path(old), ec);
      fs::remove(fs::path(part_path(old)).parent_path(), ec);  // once every rank's part is gone
    }
  }
  saved_ = iteration;
}

}  // namespace mfkit::dist
