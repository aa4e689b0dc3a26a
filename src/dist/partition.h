// Internal: the data layout of distributed training (Spark ALS's blocks, docs/distributed.md).
//
// Users and items are owned by rank hash(raw id) % P. Rank r owns a sorted list of raw ids; the
// global index of its j-th id is offsets[r] + j, so global ranges ascend with the rank. Each
// rank keeps its users' ratings (the user block) and its items' ratings (the item block); a
// block's columns are compacted to the other side's ids it references, and `fetch` is the
// exchange that brings exactly those rows of the other side's factors (Spark's out-blocks).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "mfkit/communicator.h"
#include "mfkit/data.h"
#include "mfkit/interactions.h"

namespace mfkit::dist {

/// The ids of one side owned by this rank.
struct OwnedIds {
  std::vector<std::string> names;  ///< sorted raw ids
  std::vector<int64_t> offsets;    ///< P + 1 global index bounds per owner
  int64_t total() const { return offsets.back(); }
};

/// Who sends which factor rows to whom in one half-sweep.
struct Exchange {
  std::vector<int64_t> send_rows;    ///< this rank's local rows, grouped by requesting rank
  std::vector<int64_t> send_counts;  ///< rows per requesting rank
  std::vector<int64_t> recv_counts;  ///< rows from each owner (fixed for the fit: no counts travel)
};

struct Block {
  Csr rows;                      ///< owned rows x compact columns
  std::vector<int64_t> columns;  ///< global index of each compact column, ascending
  Exchange fetch;                ///< brings the other side's rows `columns`, in that order
};

struct Partition {
  OwnedIds users, items;
  Block by_user, by_item;
  int64_t nnz = 0;       ///< global, after merging duplicates
  double value_sum = 0;  ///< global
  float lo = 0, hi = 0;  ///< global value range
};

/// The rank that owns raw id `name` among P: FNV-1a of its text mod P.
int owner_of_name(std::string_view name, int P);
/// Strings through the byte all-to-all: each as [u32 length][bytes].
void pack(std::vector<uint8_t>& out, std::string_view s);
/// The strings of `in`, whose byte_counts[r] bytes came from rank r; per_source (optional) gets
/// how many came from each rank.
std::vector<std::string_view> unpack(const std::vector<uint8_t>& in, const std::vector<int64_t>& byte_counts,
                                     std::vector<int64_t>* per_source);

/// This rank's shard of `path`: its byte range of one file (cut at line ends) or, for a folder,
/// files j with j % P == rank. Every rank learns whether any failed: a rank that met a bad line
/// throws its InputError (file and line); the others throw DistError naming that rank.
LoadResult read_shard(Communicator& comm, const std::string& path, const Format& format, const LoadOptions& opt);

/// Owners, global ids and both blocks from every rank's shard (local ids). No rank holds more
/// than its own shard's ids and its blocks.
Partition partition(Communicator& comm, const Interactions& shard, DuplicatePolicy dup);

/// The rows of the other side that block `b` needs, `width` floats each, in b.columns' order:
/// every rank sends its part of `local` (its owned rows) as b.fetch says.
std::vector<float> fetch_rows(Communicator& comm, const Exchange& e, const std::vector<float>& local, int width,
                              const char* step);
/// The same for rows of `width` floats and one bias each, in one exchange: the rows into *rows,
/// the biases into *biases.
void fetch_rows_and_biases(Communicator& comm, const Exchange& e, const std::vector<float>& local,
                           const std::vector<float>& local_biases, int width, std::vector<float>* rows,
                           std::vector<float>* biases, const char* step);

/// Everything below goes to rank 0, in rank order (other ranks get empty results): used to
/// write one model file. Names are concatenated as in OwnedIds.
std::vector<std::string> gather_names(Communicator& comm, const std::vector<std::string>& names, const char* step);
std::vector<float> gather_rows(Communicator& comm, const std::vector<float>& local, const char* step);
/// The user block with global item columns, stacked on rank 0 (the model's seen matrix).
Csr gather_block(Communicator& comm, const Block& b, const char* step);

}  // namespace mfkit::dist
