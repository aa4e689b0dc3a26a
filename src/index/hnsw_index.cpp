// ItemIndex on hnswlib's HierarchicalNSW (Debian libhnswlib-dev, header-only).
#include "mfkit/index.h"

#include <hnswlib/hnswlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <exception>

#include "core/json.h"
#include "mfkit/error.h"
#include "mfkit/model.h"
#include "mfkit/model_file.h"

namespace mfkit {

void IndexParams::visit(ParamVisitor& v) {
  v.param("M", M, "links per node (2M on the bottom layer): recall, memory and build time grow with it", 2, 128);
  v.param("ef_construction", ef_construction, "candidate list while building: a better graph for a slower build", 8,
          4096);
  v.param("ef_search", ef_search, "candidate list per query (at least the number asked for): recall against speed", 1,
          100000);
  v.param("metric", metric,
          "inner-product search: ip = the graph over inner products itself (ip-NSW, Morozov & Babenko 2018), "
          "l2-transform = L2 after Bachrach et al.'s extra dimension",
          {"ip", "l2-transform"});
  v.param("cosine", cosine, "also index the item vectors by cosine, for similar-item queries");
  v.param("seed", seed, "level draws (with one build thread the graph is reproducible)", 0, 2147483647);
}

namespace {

constexpr int32_t kIndexVersion = 1;
using Graph = hnswlib::HierarchicalNSW<float>;

// hnswlib saves and loads through a path: an anonymous in-memory file stands in for one.
class MemFile {
 public:
  MemFile() : fd_(::memfd_create("mfkit-index", MFD_CLOEXEC)) {
    if (fd_ < 0) throw Error(std::string("index: cannot create an in-memory file: ") + std::strerror(errno));
  }
  ~MemFile() { ::close(fd_); }
  std::string path() const { return "/proc/self/fd/" + std::to_string(fd_); }
  std::vector<uint8_t> bytes() const {
    off_t n = ::lseek(fd_, 0, SEEK_END);
    std::vector<uint8_t> out(n > 0 ? static_cast<size_t>(n) : 0);
    for (size_t got = 0; got < out.size();) {
      ssize_t r = ::pread(fd_, out.data() + got, out.size() - got, static_cast<off_t>(got));
      if (r <= 0) throw Error("index: cannot read back the saved graph");
      got += static_cast<size_t>(r);
    }
    return out;
  }
  void write(const std::vector<uint8_t>& b) const {
    for (size_t put = 0; put < b.size();) {
      ssize_t r = ::pwrite(fd_, b.data() + put, b.size() - put, static_cast<off_t>(put));
      if (r <= 0) throw Error("index: cannot stage the graph for loading");
      put += static_cast<size_t>(r);
    }
  }

 private:
  int fd_;
};

struct Side {
  std::unique_ptr<hnswlib::SpaceInterface<float>> space;
  std::unique_ptr<Graph> graph;
};

// Adds rows of `data` (n x dim) to a new graph, item 0 first, the rest on ctx.threads threads.
Side build_graph(std::unique_ptr<hnswlib::SpaceInterface<float>> space, const std::vector<float>& data, int32_t n,
                 int dim, const IndexParams& p, const Context& ctx) {
  Side s;
  s.space = std::move(space);
  s.graph = std::make_unique<Graph>(s.space.get(), static_cast<size_t>(n), static_cast<size_t>(p.M),
                                    static_cast<size_t>(p.ef_construction), static_cast<size_t>(p.seed));
  s.graph->addPoint(data.data(), 0);
  std::exception_ptr failed;
#pragma omp parallel for schedule(dynamic, 64) num_threads(ctx.threads)
  for (int32_t i = 1; i < n; ++i) {
    try {
      s.graph->addPoint(data.data() + static_cast<size_t>(i) * dim, static_cast<hnswlib::labeltype>(i));
    } catch (...) {
#pragma omp critical
      if (!failed) failed = std::current_exception();
    }
  }
  if (failed) std::rethrow_exception(failed);
  s.graph->setEf(static_cast<size_t>(p.ef_search));
  return s;
}

Tensor bytes_tensor(std::vector<uint8_t> b) {
  Tensor t;
  t.dtype = DType::kU8;
  t.shape = {static_cast<int64_t>(b.size())};
  t.bytes = std::move(b);
  return t;
}

std::vector<uint8_t> save_graph(const Side& s) {
  MemFile f;
  s.graph->saveIndex(f.path());
  return f.bytes();
}

// Checks a graph as hnswlib's saveIndex wrote it before hnswlib reads it: hnswlib trusts every
// offset, count, id and level it finds, so a crafted section would load and then crash the first
// query. Layout: a 96-byte header; n level-0 records (link count, 2M links, the vector, the
// label); then per node its upper levels (a byte count, then per level a link count and M links).
void check_graph(const std::vector<uint8_t>& b, int32_t n, size_t data_size, const char* name) {
  auto fail = [name](const std::string& why) {
    throw Error(std::string("index: the stored graph '") + name + "' is damaged (" + why + ")");
  };
  size_t at = 0;
  auto take = [&](auto& v) {
    if (b.size() - at < sizeof v) fail("it ends early");
    std::memcpy(&v, b.data() + at, sizeof v);
    at += sizeof v;
  };
  size_t offset_level0, max_elements, count, per_element, label_offset, offset_data, max_m, max_m0, m, ef_construction;
  int max_level;
  unsigned int entry;
  double mult;
  take(offset_level0), take(max_elements), take(count), take(per_element), take(label_offset), take(offset_data);
  take(max_level), take(entry), take(max_m), take(max_m0), take(m), take(mult), take(ef_construction);
  const size_t links0 = max_m0 * 4 + 4, links = max_m * 4 + 4;
  if (count != static_cast<size_t>(n))
    fail("it holds " + std::to_string(count) + " nodes for " + std::to_string(n) + " items");
  if (m < 1 || m > 10000 || max_m != m || max_m0 != 2 * m || offset_level0 != 0 || offset_data != links0 ||
      label_offset != links0 + data_size || per_element != label_offset + sizeof(hnswlib::labeltype) || !(mult > 0) ||
      !std::isfinite(mult))
    fail("its header does not describe a graph of this model's vectors");
  if (max_level < 0 || max_level > 64 || entry >= count) fail("entry point or top level out of range");
  if ((b.size() - at) / per_element < count) fail("it ends early");
  const uint8_t* level0 = b.data() + at;
  at += count * per_element;
  std::vector<int> level(count);
  std::vector<size_t> upper(count);  // where each node's upper levels start
  for (size_t i = 0; i < count; ++i) {
    unsigned int bytes;
    take(bytes);
    if (bytes % links != 0 || bytes / links > static_cast<size_t>(max_level) || b.size() - at < bytes)
      fail("node " + std::to_string(i) + "'s levels are out of range");
    level[i] = static_cast<int>(bytes / links);
    upper[i] = at;
    at += bytes;
  }
  if (at != b.size()) fail("it has bytes past its last node");
  if (level[entry] != max_level) fail("the entry point is not on the top level");
  std::vector<char> labelled(count, 0);
  auto check_list = [&](const uint8_t* list, size_t cap, int lvl, size_t node) {
    uint16_t k;
    std::memcpy(&k, list, 2);
    if (k > cap) fail("node " + std::to_string(node) + " has too many links");
    for (size_t j = 0; j < k; ++j) {
      unsigned int to;
      std::memcpy(&to, list + 4 + 4 * j, 4);
      if (to >= count || level[to] < lvl) fail("node " + std::to_string(node) + " links to a node out of range");
    }
  };
  for (size_t i = 0; i < count; ++i) {
    const uint8_t* rec = level0 + i * per_element;
    if (rec[2] != 0) fail("node " + std::to_string(i) + " is marked deleted");
    check_list(rec, max_m0, 0, i);
    hnswlib::labeltype label;
    std::memcpy(&label, rec + label_offset, sizeof label);
    if (label >= count || labelled[label]) fail("node " + std::to_string(i) + " has a label out of range or twice");
    labelled[label] = 1;
    for (int l = 1; l <= level[i]; ++l) check_list(b.data() + upper[i] + (l - 1) * links, max_m, l, i);
  }
}

Side load_graph(std::unique_ptr<hnswlib::SpaceInterface<float>> space, const Tensor& t, int32_t n, const IndexParams& p,
                const char* name) {
  check_graph(t.bytes, n, space->get_data_size(), name);
  MemFile f;
  f.write(t.bytes);
  Side s;
  s.space = std::move(space);
  try {
    s.graph = std::make_unique<Graph>(s.space.get(), f.path(), false, static_cast<size_t>(n));
  } catch (const std::exception& e) {
    throw Error(std::string("index: the stored graph does not load (") + e.what() + ")");
  }
  if (s.graph->cur_element_count != static_cast<size_t>(n) ||
      s.graph->label_offset_ - s.graph->offsetData_ != s.space->get_data_size())
    throw Error("index: the stored graph does not match the model's items");
  s.graph->setEf(static_cast<size_t>(p.ef_search));
  return s;
}

}  // namespace

struct ItemIndex::Impl {
  IndexParams p;
  int32_t n = 0;
  int key_dim = 0;  // query width; with l2-transform the graph's vectors are key_dim + 1 wide
  int vec_dim = 0;  // item vector width of the cosine graph (0: none)
  Side mips, cosine;
};

ItemIndex::ItemIndex(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ItemIndex::~ItemIndex() = default;

void ItemIndex::set_ef_search(int ef) {
  if (ef < 1) throw ParamError("index: ef_search must be at least 1");
  impl_->p.ef_search = ef;
  if (impl_->mips.graph) impl_->mips.graph->setEf(static_cast<size_t>(ef));
  if (impl_->cosine.graph) impl_->cosine.graph->setEf(static_cast<size_t>(ef));
}

std::shared_ptr<ItemIndex> ItemIndex::build(const Model& model, const IndexParams& p, const Context& ctx) {
  p.validate();
  if (!model.fitted()) throw Error("index: the model has not been fitted");
  int kd = 0;
  std::vector<float> keys = model.item_keys(&kd);
  if (kd == 0)
    throw Error("index: " + model.type() +
                "'s scores are not inner products of user and item vectors; "
                "an approximate index needs a factor model (biased-mf, als, implicit-als, bpr)");
  auto impl = std::make_unique<Impl>();
  impl->p = p;
  impl->n = model.n_items();
  impl->key_dim = kd;
  const int32_t n = impl->n;
  if (p.metric == "ip") {
    impl->mips = build_graph(std::make_unique<hnswlib::InnerProductSpace>(kd), keys, n, kd, p, ctx);
  } else {
    double m2 = 0;
    for (int32_t i = 0; i < n; ++i) {
      double s = 0;
      for (int d = 0; d < kd; ++d) s += double(keys[size_t(i) * kd + d]) * keys[size_t(i) * kd + d];
      m2 = std::max(m2, s);
    }
    std::vector<float> data(static_cast<size_t>(n) * (kd + 1));
    for (int32_t i = 0; i < n; ++i) {
      const float* k = keys.data() + size_t(i) * kd;
      float* o = data.data() + size_t(i) * (kd + 1);
      double s = 0;
      for (int d = 0; d < kd; ++d) o[d] = k[d], s += double(k[d]) * k[d];
      o[kd] = static_cast<float>(std::sqrt(std::max(0.0, m2 - s)));
    }
    impl->mips = build_graph(std::make_unique<hnswlib::L2Space>(kd + 1), data, n, kd + 1, p, ctx);
  }
  keys.clear();
  keys.shrink_to_fit();
  if (p.cosine) {
    int vd = 0;
    std::vector<float> v = model.item_vectors(&vd);
    for (int32_t i = 0; i < n; ++i) {
      float* r = v.data() + size_t(i) * vd;
      double s = 0;
      for (int d = 0; d < vd; ++d) s += double(r[d]) * r[d];
      if (s > 0)
        for (int d = 0; d < vd; ++d) r[d] = static_cast<float>(r[d] / std::sqrt(s));
    }
    impl->vec_dim = vd;
    impl->cosine = build_graph(std::make_unique<hnswlib::InnerProductSpace>(vd), v, n, vd, p, ctx);
  }
  return std::shared_ptr<ItemIndex>(new ItemIndex(std::move(impl)));
}

bool ItemIndex::present(const TensorMap& t) { return t.count("index.version") > 0; }

void ItemIndex::save(TensorMap& out) const {
  IndexParams p = impl_->p;
  out["index.version"] = Tensor::i32({kIndexVersion});
  out["index.params"] = Tensor::strings({params_to_json(p).dump()});
  out["index.shape"] = Tensor::i64({impl_->n, impl_->key_dim, impl_->vec_dim});
  out["index.mips"] = bytes_tensor(save_graph(impl_->mips));
  if (impl_->cosine.graph) out["index.cosine"] = bytes_tensor(save_graph(impl_->cosine));
}

std::shared_ptr<const ItemIndex> ItemIndex::load(const TensorMap& t, const Model& model) {
  int32_t version = require_tensor(t, "index.version", DType::kI32, 1).as_i32()[0];
  if (version < 1 || version > kIndexVersion)
    throw Error("index section version " + std::to_string(version) + " is not supported (this build reads up to " +
                std::to_string(kIndexVersion) + ")");
  auto impl = std::make_unique<Impl>();
  auto params = require_tensor(t, "index.params", DType::kStr, 1).as_strings();
  if (params.size() != 1) throw Error("index: the stored parameters are damaged");
  try {
    params_from_json(impl->p, parse_json(params.at(0)), "index");
  } catch (const JsonError& e) {
    throw Error(std::string("index: stored parameters are not JSON (") + e.what() + ")");
  }
  auto shape = require_tensor(t, "index.shape", DType::kI64, 3).as_i64();
  impl->n = static_cast<int32_t>(shape[0]);
  impl->key_dim = static_cast<int>(shape[1]);
  impl->vec_dim = static_cast<int>(shape[2]);
  int kd = 0, vd = 0;
  model.item_keys(&kd);
  model.item_vectors(&vd);
  if (impl->n != model.n_items() || impl->key_dim != kd || impl->key_dim < 1 || (impl->vec_dim && impl->vec_dim != vd))
    throw Error("index: built for " + std::to_string(impl->n) + " items of width " + std::to_string(impl->key_dim) +
                ", the model has " + std::to_string(model.n_items()) + " of width " + std::to_string(kd));
  auto it = t.find("index.mips");
  if (it == t.end() || it->second.dtype != DType::kU8) throw Error("index: the graph 'index.mips' is missing");
  if (impl->p.metric == "ip")
    impl->mips = load_graph(std::make_unique<hnswlib::InnerProductSpace>(impl->key_dim), it->second, impl->n, impl->p,
                            "index.mips");
  else
    impl->mips =
        load_graph(std::make_unique<hnswlib::L2Space>(impl->key_dim + 1), it->second, impl->n, impl->p, "index.mips");
  if (impl->vec_dim) {
    it = t.find("index.cosine");
    if (it == t.end() || it->second.dtype != DType::kU8) throw Error("index: the graph 'index.cosine' is missing");
    impl->cosine = load_graph(std::make_unique<hnswlib::InnerProductSpace>(impl->vec_dim), it->second, impl->n, impl->p,
                              "index.cosine");
  }
  return std::shared_ptr<const ItemIndex>(new ItemIndex(std::move(impl)));
}

const IndexParams& ItemIndex::params() const { return impl_->p; }
int32_t ItemIndex::size() const { return impl_->n; }
int ItemIndex::key_dim() const { return impl_->key_dim; }
bool ItemIndex::has_cosine() const { return impl_->cosine.graph != nullptr; }

std::vector<int32_t> ItemIndex::top_inner_product(const float* query, int n) const {
  std::vector<float> q(query, query + impl_->key_dim);
  if (impl_->p.metric != "ip") q.push_back(0.0f);  // Bachrach et al.: the query's extra coordinate is 0
  n = std::clamp(n, 1, impl_->n);
  auto heap = impl_->mips.graph->searchKnn(q.data(), static_cast<size_t>(n));  // farthest on top
  std::vector<int32_t> out(heap.size());
  for (size_t k = heap.size(); k-- > 0; heap.pop()) out[k] = static_cast<int32_t>(heap.top().second);
  return out;
}

std::vector<std::pair<int32_t, float>> ItemIndex::nearest_cosine(const float* v, int n) const {
  if (!impl_->cosine.graph) throw Error("index: built without the cosine graph (cosine=false)");
  std::vector<float> q(v, v + impl_->vec_dim);
  double s = 0;
  for (float x : q) s += double(x) * x;
  if (s > 0)
    for (float& x : q) x = static_cast<float>(x / std::sqrt(s));
  n = std::clamp(n, 1, impl_->n);
  auto heap = impl_->cosine.graph->searchKnn(q.data(), static_cast<size_t>(n));
  std::vector<std::pair<int32_t, float>> out(heap.size());
  for (size_t k = heap.size(); k-- > 0; heap.pop())
    out[k] = {static_cast<int32_t>(heap.top().second), s > 0 ? 1.0f - heap.top().first : 0.0f};
  return out;
}

std::vector<std::pair<int32_t, float>> ItemIndex::nearest_cosine_to(int32_t item, int n) const {
  if (!impl_->cosine.graph) throw Error("index: built without the cosine graph (cosine=false)");
  if (item < 0 || item >= impl_->n) throw NotFoundError("index: item index " + std::to_string(item) + " is unknown");
  std::vector<float> v = impl_->cosine.graph->getDataByLabel<float>(static_cast<hnswlib::labeltype>(item));
  return nearest_cosine(v.data(), n);
}

}  // namespace mfkit
