// mfkit/index.h - approximate top-N over a factor model's items (HNSW graphs, via hnswlib).
//
// An exact top-N scans every item: right for MovieLens, slow for a catalogue of millions. An
// ItemIndex holds two HNSW graphs (Malkov & Yashunin 2018) over the item side of a model whose
// scores are inner products (Model::item_keys):
//   - maximum inner product; recommend() uses it. metric=ip (the default) builds and searches
//     the graph with the inner product itself as the similarity (ip-NSW, Morozov & Babenko,
//     NeurIPS 2018); metric=l2-transform uses the one-extra-dimension transform of Bachrach et
//     al. (2014), as implicit does: key' = [key, sqrt(M^2 - |key|^2)] with M the largest key
//     norm, query' = [query, 0], so the nearest key' in L2 has the largest <query, key>. On
//     factor models the transformed points crowd together (most items have small norms) and the
//     graph needs a larger M for the same recall (docs/ann.md);
//   - cosine between item vectors (unit vectors, inner-product distance); similar_items uses it.
// Searches return candidate ids; callers rescore them exactly and apply every filter (see
// recommend.h), so an approximate answer may miss an item but never contains a filtered one.
// The index is saved in the model file (section "index.", docs/model-format.md).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "mfkit/context.h"
#include "mfkit/params.h"

namespace mfkit {

class Model;
struct Tensor;
using TensorMap = std::map<std::string, Tensor>;

struct IndexParams {
  int M = 16;                 // links per node (2M on the bottom layer): recall, memory and build time grow with it
  int ef_construction = 100;  // candidate list while building: a better graph for a slower build
  int ef_search = 64;         // candidate list per query (at least the number asked for): recall against speed
  std::string metric = "ip";  // ip | l2-transform (see above)
  bool cosine = true;         // also index the item vectors by cosine, for similar-item queries
  int seed = 100;             // level draws (with one build thread the graph is reproducible)

  void visit(ParamVisitor& v);
  void validate() const {}
};

class ItemIndex {
 public:
  ~ItemIndex();
  /// Builds the graphs for a fitted model; Error when its scores are not inner products.
  static std::shared_ptr<ItemIndex> build(const Model& model, const IndexParams& p, const Context& ctx);
  /// Reads the "index.*" tensors written by save(); Error when absent, of a newer version, or
  /// not matching the model (item count, key width).
  static std::shared_ptr<const ItemIndex> load(const TensorMap& tensors, const Model& model);
  /// True when `tensors` hold an index section.
  static bool present(const TensorMap& tensors);
  void save(TensorMap& out) const;

  const IndexParams& params() const;
  /// Searches from now on with another candidate list (the graphs stay); not while queries run.
  void set_ef_search(int ef);
  int32_t size() const;
  int key_dim() const;  ///< width of the queries of top_inner_product (Model::item_keys)
  bool has_cosine() const;

  /// About the n items with the largest <query, key>, best first.
  std::vector<int32_t> top_inner_product(const float* query, int n) const;
  /// About the n items whose vectors (Model::item_vectors) are nearest by cosine to `v` (not
  /// normalised), best first, with their cosines.
  std::vector<std::pair<int32_t, float>> nearest_cosine(const float* v, int n) const;
  /// nearest_cosine for item `item`'s own vector (kept in the graph), the item itself included.
  std::vector<std::pair<int32_t, float>> nearest_cosine_to(int32_t item, int n) const;

 private:
  struct Impl;
  explicit ItemIndex(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace mfkit
