#include "dist/partition.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <exception>
#include <filesystem>

#include "core/hash.h"
#include "data/text_file.h"
#include "mfkit/error.h"

namespace mfkit::dist {

int owner_of_name(std::string_view name, int P) { return static_cast<int>(fnv1a(name) % static_cast<uint64_t>(P)); }

void pack(std::vector<uint8_t>& out, std::string_view s) {
  const uint32_t n = static_cast<uint32_t>(s.size());
  const size_t at = out.size();
  out.resize(at + 4 + n);
  std::memcpy(out.data() + at, &n, 4);
  std::memcpy(out.data() + at + 4, s.data(), n);
}

std::vector<std::string_view> unpack(const std::vector<uint8_t>& in, const std::vector<int64_t>& byte_counts,
                                     std::vector<int64_t>* per_source) {
  std::vector<std::string_view> out;
  size_t at = 0;
  for (int64_t bytes : byte_counts) {
    const size_t end = at + static_cast<size_t>(bytes);
    int64_t n = 0;
    while (at < end) {
      uint32_t len;
      std::memcpy(&len, in.data() + at, 4);
      out.emplace_back(reinterpret_cast<const char*>(in.data() + at + 4), len);
      at += 4 + len;
      ++n;
    }
    if (per_source) per_source->push_back(n);
  }
  return out;
}

namespace {

int owner_of_index(const OwnedIds& ids, int64_t g) {
  return static_cast<int>(std::upper_bound(ids.offsets.begin(), ids.offsets.end(), g) - ids.offsets.begin()) - 1;
}

// The global index of each of `names` (this rank's local ids); fills `owned` with this rank's ids.
std::vector<int64_t> assign_ids(Communicator& comm, const std::vector<std::string>& names, OwnedIds& owned,
                                const char* what) {
  const int P = comm.size();
  std::vector<std::vector<int32_t>> by_owner(P);
  for (int32_t j = 0; j < static_cast<int32_t>(names.size()); ++j) by_owner[owner_of_name(names[j], P)].push_back(j);
  std::vector<uint8_t> bytes;
  std::vector<int64_t> byte_counts(P), name_counts(P);
  for (int r = 0; r < P; ++r) {
    const size_t before = bytes.size();
    for (int32_t j : by_owner[r]) pack(bytes, names[j]);
    byte_counts[r] = static_cast<int64_t>(bytes.size() - before);
    name_counts[r] = static_cast<int64_t>(by_owner[r].size());
  }
  std::vector<int64_t> recv_bytes, recv_names;
  const std::string step = fmt::format("{} ids to owners", what);
  std::vector<uint8_t> got = comm.alltoall(bytes, byte_counts, &recv_bytes, step.c_str());
  std::vector<std::string_view> asked = unpack(got, recv_bytes, &recv_names);
  std::vector<std::string_view> mine(asked);
  std::sort(mine.begin(), mine.end());
  mine.erase(std::unique(mine.begin(), mine.end()), mine.end());
  owned.names.assign(mine.begin(), mine.end());
  std::vector<int64_t> counts = comm.allgather(static_cast<int64_t>(owned.names.size()), step.c_str());
  owned.offsets.assign(P + 1, 0);
  for (int r = 0; r < P; ++r) owned.offsets[r + 1] = owned.offsets[r] + counts[r];
  if (owned.total() > INT32_MAX) throw Error(fmt::format("distributed: more than 2^31 {}s", what));
  std::vector<int64_t> answer(asked.size());
  for (size_t a = 0; a < asked.size(); ++a)
    answer[a] = owned.offsets[comm.rank()] + (std::lower_bound(mine.begin(), mine.end(), asked[a]) - mine.begin());
  std::vector<int64_t> back = comm.alltoall(answer, recv_names, nullptr, step.c_str());
  std::vector<int64_t> global(names.size());
  size_t k = 0;
  for (int r = 0; r < P; ++r)
    for (int32_t j : by_owner[r]) global[j] = back[k++];
  return global;
}

// Sends each entry to the owner of its row; the receiver builds its block.
Block make_block(Communicator& comm, const std::vector<int64_t>& rows, const std::vector<int64_t>& cols,
                 const std::vector<float>& values, const OwnedIds& row_ids, const OwnedIds& col_ids,
                 DuplicatePolicy dup, const char* what) {
  const int P = comm.size(), me = comm.rank();
  const size_t n = rows.size();
  std::vector<int64_t> counts(P, 0);
  std::vector<int> dest(n);
  for (size_t e = 0; e < n; ++e) counts[dest[e] = owner_of_index(row_ids, rows[e])]++;
  std::vector<int64_t> at(P, 0), pair_counts(P);
  for (int r = 1; r < P; ++r) at[r] = at[r - 1] + counts[r - 1];
  for (int r = 0; r < P; ++r) pair_counts[r] = 2 * counts[r];
  std::vector<int64_t> pairs(2 * n);
  std::vector<float> vals(n);
  for (size_t e = 0; e < n; ++e) {  // stable: each destination gets entries in shard order
    const int64_t s = at[dest[e]]++;
    pairs[2 * s] = rows[e];
    pairs[2 * s + 1] = cols[e];
    vals[s] = values[e];
  }
  const std::string step = fmt::format("ratings to {} owners", what);
  std::vector<int64_t> got_pairs = comm.alltoall(pairs, pair_counts, nullptr, step.c_str());
  pairs = {};
  std::vector<float> got_vals = comm.alltoall(vals, counts, nullptr, step.c_str());
  vals = {};
  const size_t m = got_vals.size();
  Block b;
  b.columns.resize(m);
  for (size_t e = 0; e < m; ++e) b.columns[e] = got_pairs[2 * e + 1];
  std::sort(b.columns.begin(), b.columns.end());
  b.columns.erase(std::unique(b.columns.begin(), b.columns.end()), b.columns.end());
  Coo coo;
  coo.reserve(m);
  const int64_t first = row_ids.offsets[me];
  for (size_t e = 0; e < m; ++e) {
    coo.users.push_back(static_cast<int32_t>(got_pairs[2 * e] - first));
    coo.items.push_back(static_cast<int32_t>(
        std::lower_bound(b.columns.begin(), b.columns.end(), got_pairs[2 * e + 1]) - b.columns.begin()));
  }
  coo.values = std::move(got_vals);
  got_pairs = {};
  auto dummy = [](int64_t size) {  // from_coo wants id maps; the block's rows and columns are numbered
    std::vector<std::string> names(static_cast<size_t>(size));
    for (int64_t j = 0; j < size; ++j) names[j] = std::to_string(j);
    return IdMap::from_names(std::move(names));
  };
  b.rows = Interactions::from_coo(std::move(coo), dummy(row_ids.offsets[me + 1] - first), dummy(b.columns.size()), dup)
               .by_user();
  // Ask each column owner for its rows once; it keeps the lists as its part of the exchange.
  std::vector<int64_t> ask_counts(P, 0);
  for (int64_t g : b.columns) ask_counts[owner_of_index(col_ids, g)]++;
  std::vector<int64_t> asked = comm.alltoall(b.columns, ask_counts, &b.fetch.send_counts, step.c_str());
  b.fetch.recv_counts = std::move(ask_counts);
  for (int64_t& g : asked) g -= col_ids.offsets[me];
  b.fetch.send_rows = std::move(asked);
  return b;
}

}  // namespace

LoadResult read_shard(Communicator& comm, const std::string& path, const Format& format, const LoadOptions& opt) {
  namespace fs = std::filesystem;
  const int P = comm.size(), me = comm.rank();
  LoadResult res;
  std::exception_ptr error;
  auto attempt = [&](auto&& work) {
    if (error) return;
    try {
      work();
    } catch (const Error&) {
      error = std::current_exception();
    }
  };
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    attempt([&] {
      std::vector<std::string> files;
      for (const auto& e : fs::directory_iterator(path))
        if (e.is_regular_file() && e.path().filename().string()[0] != '.') files.push_back(e.path().string());
      std::sort(files.begin(), files.end());
      if (files.empty()) throw InputError(path, 0, "the folder has no data files");
      // Files j with j % P == rank, merged into one shard with this rank's own id maps.
      auto users = std::make_shared<IdMap>(), items = std::make_shared<IdMap>();
      Coo all;
      for (size_t j = me; j < files.size(); j += P) {
        LoadResult part = load_ratings(files[j], format, opt);
        Coo c = part.data.to_coo();
        for (size_t e = 0; e < c.size(); ++e) {
          all.users.push_back(users->add(part.data.user_ids()->name(c.users[e])));
          all.items.push_back(items->add(part.data.item_ids()->name(c.items[e])));
          all.values.push_back(c.values[e]);
        }
        res.lines += part.lines;
        res.skipped += part.skipped;
      }
      res.data = Interactions::from_coo(std::move(all), users, items, opt.duplicates);
    });
  } else {
    // One file: this rank's byte range, cut at line ends. Counting the lines of every range
    // first gives each rank the number of its first line, for error messages.
    std::unique_ptr<MappedFile> file;
    std::string_view part;
    int64_t base = 0, lines = 0;
    attempt([&] {
      file = std::make_unique<MappedFile>(path);
      std::string_view body = file->text();
      if (format.header) body = skip_header(body, path), base = 1;
      part = text_part(body, me, P);
      lines = std::count(part.begin(), part.end(), '\n');
    });
    std::vector<int64_t> all = comm.allgather(lines, "count lines");
    for (int r = 0; r < me; ++r) base += all[r];
    attempt([&] { res = parse_ratings(part, path, base, format, opt); });
  }
  // Every rank learns who failed, so that all stop together.
  std::vector<int64_t> failed = comm.allgather(error ? 1 : 0, "read shards");
  if (error) std::rethrow_exception(error);
  for (int r = 0; r < P; ++r)
    if (failed[r])
      throw DistError(
          fmt::format("distributed: rank {} of {} could not read its shard of {} (see its message)", r, P, path));
  return res;
}

Partition partition(Communicator& comm, const Interactions& shard, DuplicatePolicy dup) {
  Partition p;
  const std::vector<std::string> no_names;
  std::vector<int64_t> gu = assign_ids(comm, shard.user_ids() ? shard.user_ids()->names() : no_names, p.users, "user");
  std::vector<int64_t> gi = assign_ids(comm, shard.item_ids() ? shard.item_ids()->names() : no_names, p.items, "item");
  Coo c = shard.to_coo();
  std::vector<int64_t> u(c.size()), i(c.size());
  for (size_t e = 0; e < c.size(); ++e) u[e] = gu[c.users[e]], i[e] = gi[c.items[e]];
  p.by_user = make_block(comm, u, i, c.values, p.users, p.items, dup, "user");
  p.by_item = make_block(comm, i, u, c.values, p.items, p.users, dup, "item");
  // Global statistics from the user blocks (duplicates merged there): nnz, sum, range per rank.
  const int P = comm.size(), me = comm.rank();
  const auto& v = p.by_user.rows.values;
  std::vector<double> s(2 + 3 * P, 0.0);
  s[0] = static_cast<double>(v.size());
  for (float x : v) s[1] += x;
  if (!v.empty()) {
    s[2 + 3 * me] = 1;
    s[3 + 3 * me] = *std::min_element(v.begin(), v.end());
    s[4 + 3 * me] = *std::max_element(v.begin(), v.end());
  }
  comm.allreduce_sum(s, "ratings statistics");
  p.nnz = static_cast<int64_t>(s[0]);
  p.value_sum = s[1];
  bool any = false;
  for (int r = 0; r < P; ++r) {
    if (!s[2 + 3 * r]) continue;
    const float lo = static_cast<float>(s[3 + 3 * r]), hi = static_cast<float>(s[4 + 3 * r]);
    p.lo = any ? std::min(p.lo, lo) : lo;
    p.hi = any ? std::max(p.hi, hi) : hi;
    any = true;
  }
  if (p.nnz == 0) throw Error("distributed: no ratings in any shard");
  return p;
}

namespace {

std::vector<int64_t> times(std::vector<int64_t> counts, int width) {
  for (int64_t& c : counts) c *= width;
  return counts;
}

}  // namespace

std::vector<float> fetch_rows(Communicator& comm, const Exchange& e, const std::vector<float>& local, int width,
                              const char* step) {
  std::vector<float> send(e.send_rows.size() * width);
  for (size_t j = 0; j < e.send_rows.size(); ++j)
    std::copy_n(local.data() + e.send_rows[j] * width, width, send.data() + j * width);
  return comm.alltoall_known(send, times(e.send_counts, width), times(e.recv_counts, width), step);
}

void fetch_rows_and_biases(Communicator& comm, const Exchange& e, const std::vector<float>& local,
                           const std::vector<float>& local_biases, int width, std::vector<float>* rows,
                           std::vector<float>* biases, const char* step) {
  const int w = width + 1;
  std::vector<float> send(e.send_rows.size() * w);
  for (size_t j = 0; j < e.send_rows.size(); ++j) {
    std::copy_n(local.data() + e.send_rows[j] * width, width, send.data() + j * w);
    send[j * w + width] = local_biases[e.send_rows[j]];
  }
  const std::vector<float> got = comm.alltoall_known(send, times(e.send_counts, w), times(e.recv_counts, w), step);
  const size_t n = got.size() / w;
  rows->resize(n * width);
  biases->resize(n);
  for (size_t j = 0; j < n; ++j) {
    std::copy_n(got.data() + j * w, width, rows->data() + j * width);
    (*biases)[j] = got[j * w + width];
  }
}

namespace {
std::vector<int64_t> to_root(const Communicator& comm, int64_t n) {
  std::vector<int64_t> counts(comm.size(), 0);
  counts[0] = n;
  return counts;
}
}  // namespace

std::vector<std::string> gather_names(Communicator& comm, const std::vector<std::string>& names, const char* step) {
  std::vector<uint8_t> bytes;
  for (const auto& s : names) pack(bytes, s);
  std::vector<int64_t> recv;
  std::vector<uint8_t> got = comm.alltoall(bytes, to_root(comm, static_cast<int64_t>(bytes.size())), &recv, step);
  std::vector<std::string_view> all = unpack(got, recv, nullptr);
  return std::vector<std::string>(all.begin(), all.end());
}

std::vector<float> gather_rows(Communicator& comm, const std::vector<float>& local, const char* step) {
  return comm.alltoall(local, to_root(comm, static_cast<int64_t>(local.size())), nullptr, step);
}

Csr gather_block(Communicator& comm, const Block& b, const char* step) {
  const Csr& c = b.rows;
  std::vector<int64_t> sizes(c.rows()), cols(c.indices.size());
  for (int32_t r = 0; r < c.rows(); ++r) sizes[r] = c.row_size(r);
  for (size_t e = 0; e < cols.size(); ++e) cols[e] = b.columns[c.indices[e]];
  std::vector<int64_t> all_sizes =
      comm.alltoall(sizes, to_root(comm, static_cast<int64_t>(sizes.size())), nullptr, step);
  std::vector<int64_t> all_cols = comm.alltoall(cols, to_root(comm, static_cast<int64_t>(cols.size())), nullptr, step);
  Csr out;
  out.values = comm.alltoall(c.values, to_root(comm, static_cast<int64_t>(c.values.size())), nullptr, step);
  if (comm.rank() != 0) return out;
  out.indptr.assign(all_sizes.size() + 1, 0);
  for (size_t r = 0; r < all_sizes.size(); ++r) out.indptr[r + 1] = out.indptr[r] + all_sizes[r];
  out.indices.assign(all_cols.begin(), all_cols.end());
  return out;
}

}  // namespace mfkit::dist
