// The choice of kernels (kernels/dispatch.h) and the public kernel functions, which forward to it.
#include "kernels/dispatch.h"

#include <dlfcn.h>
#if defined(__x86_64__)
#include <cpuid.h>
#endif

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <mutex>

#include "kernels/als_implicit.h"
#include "mfkit/error.h"

namespace mfkit {

namespace {

struct Isa {
  const char* name;
  bool (*cpu_runs)();
};

// x86-64 micro-architecture levels as GCC checks them (CPUID and, for AVX, the OS's XSAVE state).
#if defined(__x86_64__)
#if defined(__clang__)  // clang (14) knows the features, not the level names
bool runs_v3() {
  unsigned a, b, c, d;
  const bool f16c_movbe = __get_cpuid(1, &a, &b, &c, &d) && (c & bit_F16C) && (c & bit_MOVBE);
  const bool lzcnt = __get_cpuid(0x80000001, &a, &b, &c, &d) && (c & bit_LZCNT);
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("bmi") &&
         __builtin_cpu_supports("bmi2") && f16c_movbe && lzcnt;
}
bool runs_v4() {
  return runs_v3() && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512cd");
}
#else
bool runs_v3() { return __builtin_cpu_supports("x86-64-v3") > 0; }
bool runs_v4() { return __builtin_cpu_supports("x86-64-v4") > 0; }
#endif
const Isa kIsas[] = {
    {"baseline", [] { return true; }},
    {"avx2", runs_v3},
    {"avx512", runs_v4},
};
#else  // other CPUs: the kernels compiled with the library, for the compiler's default target
const Isa kIsas[] = {{"baseline", [] { return true; }}};
#endif

std::atomic<const KernelTable*> g_table{nullptr};
std::mutex g_mutex;
std::string g_reason;

// The library of `isa` beside the one this function is in (libmfkit.so).
std::string library_path(const std::string& isa) {
  Dl_info info{};
  std::string dir;
  if (dladdr(reinterpret_cast<void*>(&library_path), &info) && info.dli_fname) {
    dir = info.dli_fname;
    const size_t slash = dir.rfind('/');
    dir = slash == std::string::npos ? std::string() : dir.substr(0, slash + 1);
  }
  return dir + "libmfkit_kernels_" + isa + ".so";
}

// The table of `isa`, loaded once; null with *why when the CPU cannot run it or it does not load.
const KernelTable* load(const std::string& isa, std::string* why) {
  if (isa == "baseline") return &kern::table();
  const Isa* known = nullptr;
  for (const Isa& i : kIsas)
    if (isa == i.name) known = &i;
  if (!known) {
    *why = "unknown instruction set '" + isa + "' (baseline, avx2 or avx512)";
    return nullptr;
  }
  if (!known->cpu_runs()) {
    *why = "this CPU (or its OS) does not support " + isa;
    return nullptr;
  }
  const std::string path = library_path(isa);
  void* h = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    const char* e = dlerror();
    *why = "cannot load " + path + ": " + (e ? e : "unknown error");
    return nullptr;
  }
  using Entry = const KernelTable* (*)();
  auto entry = reinterpret_cast<Entry>(dlsym(h, "mfkit_kernels"));
  const KernelTable* t = entry ? entry() : nullptr;
  if (!t || t->abi != KernelTable::kAbi || isa != t->isa) {
    *why = path + " is not a kernel library of this mfkit build";
    return nullptr;
  }
  return t;
}

const KernelTable& choose() {
  std::lock_guard<std::mutex> lock(g_mutex);
  if (const KernelTable* t = g_table.load(std::memory_order_acquire)) return *t;
  const char* forced = std::getenv("MFKIT_ISA");
  const KernelTable* t = nullptr;
  if (forced && *forced) {
    std::string why;
    t = load(forced, &why);
    if (!t) throw Error(std::string("MFKIT_ISA=") + forced + ": " + why);
    g_reason = "MFKIT_ISA";
  } else {
    for (int k = static_cast<int>(std::size(kIsas)) - 1; k >= 0 && !t; --k) {
      std::string why;
      t = load(kIsas[k].name, &why);
      if (!t && kIsas[k].cpu_runs()) g_reason += (g_reason.empty() ? "" : "; ") + why;
    }
    g_reason = g_reason.empty() ? "the widest this CPU runs" : "widest loadable (" + g_reason + ")";
  }
  g_table.store(t, std::memory_order_release);
  return *t;
}

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("model name", 0) == 0) {
      const size_t colon = line.find(':');
      return colon == std::string::npos ? line : line.substr(colon + 2);
    }
  return "unknown";
}

}  // namespace

const KernelTable& kernels() {
  if (const KernelTable* t = g_table.load(std::memory_order_acquire)) return *t;
  return choose();
}

KernelInfo kernel_info() {
  KernelInfo info;
  info.isa = kernels().isa;
  for (const Isa& i : kIsas) {
    std::string why;
    if (load(i.name, &why)) info.available.push_back(i.name);
  }
  info.cpu = cpu_model();
#ifdef MFKIT_BUILD_ARCH
  info.build = MFKIT_BUILD_ARCH;  // x86-64-v2, or native
  if (info.build == "native") info.build = "native (-march=native)";
#endif
  std::lock_guard<std::mutex> lock(g_mutex);
  info.reason = g_reason;
  return info;
}

std::string describe(const KernelInfo& info) {
  std::string all;
  for (const std::string& a : info.available) all += (all.empty() ? "" : ", ") + a;
  return info.isa + " (available here: " + all + "; " + info.reason + "); CPU: " + info.cpu + "; the rest built for " +
         (info.build.empty() ? "the compiler's default" : info.build);
}

void use_kernels(const std::string& isa) {
  std::string why;
  const KernelTable* t = load(isa, &why);
  if (!t) throw Error("kernels: " + why);
  std::lock_guard<std::mutex> lock(g_mutex);
  g_reason = "chosen by use_kernels";
  g_table.store(t, std::memory_order_release);
}

// The public kernels (declared in their headers) forward to the table.
double sgd_block(const Rating* begin, const Rating* end, SgdState& s, const SgdConfig& c) {
  return kernels().sgd_block(begin, end, s, c);
}
void gram(const float* Y, int32_t n, int f, float reg, float* G) { kernels().gram(Y, n, f, reg, G); }
void implicit_half_sweep(const Csr& m, const float* conf, const float* Y, const float* G, int f, int cg_steps, float* X,
                         int threads) {
  kernels().implicit_half_sweep(m, conf, Y, G, f, cg_steps, X, threads);
}
double implicit_loss(const Csr& by_user, const float* conf, const float* X, int32_t n_users, const float* Y,
                     int32_t n_items, int f, float reg, int threads) {
  return kernels().implicit_loss(by_user, conf, X, n_users, Y, n_items, f, reg, threads);
}
void als_half_sweep(const Csr& rows, const float* Y, const float* cb, const AlsSolveConfig& c, float* X, float* xb,
                    int threads) {
  kernels().als_half_sweep(rows, Y, cb, c, X, xb, threads);
}
void dot_scores(const float* X, const float* Y, int32_t n_items, int k, const int32_t* users, size_t n, float* out) {
  kernels().dot_scores(X, Y, n_items, k, users, n, out);
}
std::vector<Scored> top_k(const float* scores, int32_t n, int k, const int32_t* tie_rank) {
  return kernels().top_k(scores, n, k, tie_rank);
}

}  // namespace mfkit
