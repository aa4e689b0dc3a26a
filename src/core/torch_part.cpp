#include "core/torch_part.h"

#include <dlfcn.h>

#include <atomic>
#include <mutex>
#include <string>

#include "mfkit/error.h"

namespace mfkit {

namespace {

std::atomic<const TorchPart*> g_part{nullptr};
std::atomic<int> g_threads{0};  // set_neural_threads before the part was loaded (0: none)

// libmfkit_torch.so sits beside the library this function is in (libmfkit.so).
std::string part_path() {
  Dl_info info{};
  std::string dir;
  if (dladdr(reinterpret_cast<void*>(&part_path), &info) && info.dli_fname) {
    dir = info.dli_fname;
    size_t slash = dir.rfind('/');
    dir = slash == std::string::npos ? std::string() : dir.substr(0, slash + 1);
  }
  return dir + "libmfkit_torch.so";
}

}  // namespace

const TorchPart& torch_part() {
  if (const TorchPart* p = g_part.load(std::memory_order_acquire)) return *p;
  static std::mutex m;
  std::lock_guard<std::mutex> lock(m);
  if (const TorchPart* p = g_part.load(std::memory_order_acquire)) return *p;
  const std::string path = part_path();
  void* h = dlopen(path.c_str(), RTLD_NOW | RTLD_GLOBAL);
  if (!h) {
    const char* why = dlerror();
    throw Error("cannot load mfkit's libtorch part " + path + ": " + (why ? why : "unknown error") +
                " (the neural models, meta-mf and distributed training need it)");
  }
  using Entry = const TorchPart* (*)();
  auto entry = reinterpret_cast<Entry>(dlsym(h, "mfkit_torch_part"));
  if (!entry) throw Error(path + " does not export mfkit_torch_part: not a library of this mfkit build");
  const TorchPart* p = entry();
  if (!p || p->abi != TorchPart::kAbi)
    throw Error(path + " is from another mfkit build (interface " + std::to_string(p ? p->abi : -1) + ", this build " +
                std::to_string(TorchPart::kAbi) + ")");
  if (int t = g_threads.load()) p->set_threads(t);
  g_part.store(p, std::memory_order_release);
  return *p;
}

bool torch_part_loaded() { return g_part.load(std::memory_order_acquire) != nullptr; }

void set_neural_threads(int threads) {
  if (threads < 1) threads = 1;
  g_threads.store(threads);
  if (const TorchPart* p = g_part.load(std::memory_order_acquire)) p->set_threads(threads);
}

std::unique_ptr<Communicator> connect(const DistEnv& env, std::chrono::milliseconds timeout) {
  if (env.world_size == 1) return solo_communicator();  // one process: no store, no libtorch
  return torch_part().connect(env, timeout);
}

}  // namespace mfkit
