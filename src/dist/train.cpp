// The distributed `mfkit train`: read shards, partition, fit, score the held-out cells, write.
#include "dist/train.h"

#include <fmt/format.h>

#include <cmath>
#include <ctime>
#include <filesystem>
#include <fstream>

#include "core/json.h"
#include "dist/fit.h"
#include "dist/partition.h"
#include "io/atomic_file.h"
#include "io/sharded.h"
#include "mfkit/error.h"
#include "mfkit/index.h"
#include "mfkit/model_file.h"
#include "mfkit/registry.h"
#include "mfkit/split.h"
#include "mfkit/version.h"
#include "models/epochs.h"

namespace mfkit::dist {

namespace {

using Clock = std::chrono::steady_clock;

double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// CPU seconds this process has used (all its threads, user and system).
double cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

// What brought a job to the partitioned path, for its errors: torchrun, or in one process one of
// the flags only this path serves.
std::string path_name(const DistEnv& env) {
  return env.world_size > 1 ? "distributed training" : "--checkpoint, --top-n and --sharded";
}

// Refuses, on every rank alike, what the partitioned path does not do.
void check_supported(const TrainJob& job, const std::string& path) {
  if (job.model != "als" && job.model != "implicit-als" && job.model != "biased-mf")
    throw ParamError(path + ": the partitioned path supports -m als, implicit-als and biased-mf (not '" + job.model +
                     "')");
  const bool hash = job.split.rfind("hash:", 0) == 0 || job.split == "hash";
  if (job.split != "none" && !hash)
    throw ParamError(path +
                     ": give --split none (fit on all data) or --split hash:F (cells held out by their ids, "
                     "the same in any layout), not '" +
                     job.split + "'");
  if (job.valid > 0) throw ParamError(path + ": --valid is not supported yet");
}

// What the ranks read: --data PATH with --format, or a dataset's name (its file and format, as
// load_data finds them under MFKIT_DATA_DIR).
struct DataSource {
  std::string path;
  Format format;
  LoadOptions load;
};

DataSource resolve_data(const TrainJob& job, const std::string& path_name) {
  DataSource d{job.data, job.format ? *job.format : Format{}, job.load};
  if (job.format) return d;
  if (std::filesystem::exists(job.data))
    throw ParamError(path_name + ": --data " + job.data + " is a file or folder: give its --format");
  const DatasetSpec& spec = dataset_spec(job.data);  // NotFoundError listing the names
  if (spec.loader != DatasetSpec::Loader::kDelimited)
    throw ParamError(path_name + ": dataset '" + spec.name +
                     "' is not one delimited file; give --data PATH with --format");
  const DatasetSpec::Source src = dataset_source(spec);  // NotFoundError when absent
  d.path = src.path;
  d.format = src.format;
  if (spec.implicit) d.load.duplicates = DuplicatePolicy::kSum;
  return d;
}

// The model's own tensors (Model::load_tensors) for the rows in `m`.
TensorMap model_tensors(const std::string& type, const LocalModel& m, const std::vector<float>& train_values) {
  TensorMap t;
  const int64_t k = m.k;
  t["user_factors"] = Tensor::f32(m.P, {static_cast<int64_t>(m.P.size()) / k, k});
  t["item_factors"] = Tensor::f32(m.Q, {static_cast<int64_t>(m.Q.size()) / k, k});
  if (type == "implicit-als") {
    t["train_values"] = Tensor::f32(train_values);
  } else {
    t["mu"] = Tensor::f32({m.mu, m.lo, m.hi});
    t["user_bias"] = Tensor::f32(m.bu);
    t["item_bias"] = Tensor::f32(m.bi);
  }
  return t;
}

// This rank's rows in the model file's layout (ids, seen items with global columns, factors):
// stacked in rank order, the parts are the one file of the whole model (io/sharded.h).
ModelFile local_part(const TrainJob& job, const Model& model, const Partition& part, const LocalModel& m) {
  ModelFile f;
  f.model_type = job.model;
  f.params = model.params();
  const Csr& c = part.by_user.rows;
  std::vector<int32_t> cols(c.indices.size());
  for (size_t e = 0; e < cols.size(); ++e) cols[e] = static_cast<int32_t>(part.by_user.columns[c.indices[e]]);
  f.tensors["ids.users"] = Tensor::strings(part.users.names);
  f.tensors["ids.items"] = Tensor::strings(part.items.names);
  f.tensors["seen.indptr"] = Tensor::i64(c.indptr);
  f.tensors["seen.indices"] = Tensor::i32(cols);
  for (auto& [name, t] : model_tensors(job.model, m, c.values)) f.tensors["model." + name] = std::move(t);
  return f;
}

// The whole model gathered on rank 0 and written there as one file.
void write_gathered(Communicator& comm, const TrainJob& job, Model& model, const Partition& part, const LocalModel& m,
                    const nlohmann::json& meta, const IndexParams* index) {
  LocalModel all;
  all.k = m.k, all.mu = m.mu, all.lo = m.lo, all.hi = m.hi, all.clip = m.clip;
  all.P = gather_rows(comm, m.P, "gather user factors");
  all.Q = gather_rows(comm, m.Q, "gather item factors");
  all.bu = gather_rows(comm, m.bu, "gather user biases");
  all.bi = gather_rows(comm, m.bi, "gather item biases");
  std::vector<std::string> users = gather_names(comm, part.users.names, "gather user ids");
  std::vector<std::string> items = gather_names(comm, part.items.names, "gather item ids");
  Csr seen = gather_block(comm, part.by_user, "gather the seen matrix");
  comm.all_or_none("write the model", "write the model file", [&] {  // every rank fails when rank 0 could not
    if (comm.rank() != 0) return;
    const TensorMap tensors = model_tensors(job.model, all, seen.values);
    model.restore_base(IdMap::from_names(std::move(users)), IdMap::from_names(std::move(items)), std::move(seen));
    model.load_tensors(tensors);
    if (index) model.set_index(ItemIndex::build(model, *index, job.ctx));  // --set index=hnsw
    save_model(model, job.out, meta);
  });
}

// MemAvailable of /proc/meminfo in bytes (0 when unknown).
double available_memory() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  double kb = 0;
  while (in >> key >> kb)
    if (key == "MemAvailable:") return kb * 1024;
  return 0;
}

// Every rank writes its part; rank 0 then writes the manifest naming them with their checksums.
void write_sharded(Communicator& comm, const TrainJob& job, const Model& model, const Partition& part,
                   const LocalModel& m, const nlohmann::json& meta) {
  const int P = comm.size(), me = comm.rank();
  auto name = [&](int r) {
    return fmt::format("{}.part-{}-of-{}", std::filesystem::path(job.out).filename().string(), r, P);
  };
  uint32_t crc = 0;
  comm.all_or_none("write the model parts", "write its model part", [&] {
    ModelFile f = local_part(job, model, part, m);
    f.meta = {{"part", me}, {"parts", P}};
    crc = write_model_file((std::filesystem::path(job.out).parent_path() / name(me)).string(), f);
  });
  const std::vector<int64_t> crcs = comm.allgather(static_cast<int64_t>(crc), "model part checksums");
  comm.all_or_none("write the manifest", "write the manifest", [&] {
    if (me != 0) return;
    std::vector<std::string> names;
    std::vector<uint32_t> sums;
    for (int r = 0; r < P; ++r) names.push_back(name(r)), sums.push_back(static_cast<uint32_t>(crcs[r]));
    nlohmann::json full = meta;
    full["mfkit_version"] = version();
    full["mfkit_revision"] = source_revision();
    write_model_file(job.out, shard_manifest(job.model, model.params(), full, names, sums, {"model.mu"}));
  });
}

}  // namespace

void iterate(FitContext& fc, int n, const State& state, const Sweep& sweep) {
  Communicator& comm = fc.comm;
  const int first = fc.checkpoint ? fc.checkpoint->restore(state) + 1 : 1;
  if (first - 1 > n)
    throw ParamError(
        fmt::format("--checkpoint {}: its newest checkpoint is of iteration {}, past this run's {}; "
                    "give --resume never to start over, or another folder",
                    fc.checkpoint->dir(), first - 1, n));
  if (first > 1) fc.report["resumed_after"] = first - 1;
  nlohmann::json its = nlohmann::json::array();
  for (int it = first; it <= n; ++it) {
    const uint64_t bytes0 = comm.bytes_sent();
    const CollectiveCounts calls0 = comm.collectives();
    auto t = Clock::now();
    const double cpu0 = cpu_seconds();
    const double loss = sweep(it);
    const double seconds = since(t), cpu = cpu_seconds() - cpu0;
    const CollectiveCounts calls = comm.collectives() - calls0;
    const auto bytes = comm.allgather(static_cast<int64_t>(comm.bytes_sent() - bytes0), "iteration report");
    const bool has_loss = loss != kNoTrainLoss;
    const nlohmann::json counts = {{"allreduce", calls.allreduce}, {"allreduce_small", calls.allreduce_small},
                                   {"allgather", calls.allgather}, {"alltoall", calls.alltoall},
                                   {"broadcast", calls.broadcast}, {"barrier", calls.barrier}};
    its.push_back({{"iteration", it},
                   {"seconds", seconds},
                   {"loss", has_loss ? nlohmann::json(loss) : nlohmann::json()},
                   {"cpu_seconds", cpu},
                   {"bytes_sent_per_rank", bytes},
                   {"collectives", counts}});
    if (!std::isfinite(loss))
      throw DivergedError(fmt::format("{}: diverged at iteration {} (loss not finite)", fc.job.model, it));
    if (fc.checkpoint) fc.checkpoint->after(it, state);
    if (comm.rank() == 0 && fc.job.on_epoch) {
      EpochInfo e;
      e.epoch = it;
      e.epochs = n;
      e.seconds = seconds;
      e.has_train_loss = has_loss;
      e.train_loss = has_loss ? loss : 0.0;
      fc.job.on_epoch(e);
    }
  }
  fc.report["iterations"] = its;
}

nlohmann::json train(const TrainJob& job, const DistEnv& env, const Options& opt) {
  std::unique_ptr<Model> model = create_model(job.model, job.preset, job.params);
  const nlohmann::json params = model->params();  // preset and overrides applied
  const std::string path = path_name(env);
  check_supported(job, path);
  IndexParams index;  // checked before the fit, not found wrong after it
  if (job.index) params_from_json(index, *job.index, "index");
  if (job.index && opt.sharded)
    throw ParamError(
        "--set index=hnsw needs the whole model in one file, --sharded writes it in parts: build the "
        "index in one process from the joined model (mfkit index)");
  const DataSource data = resolve_data(job, path);
  if (!job.out.empty() && (env.rank == 0 || opt.sharded)) check_writable(job.out, "model file");
  auto comm = connect(env, opt.timeout);
  // Refuse ranks started differently: version, model, parameters, seed, data, split and layout.
  nlohmann::json same = {{"version", std::string(version()) + " " + source_revision()},
                         {"model", job.model},
                         {"params", params},
                         {"seed", job.ctx.seed},
                         {"data", job.data},
                         {"split", job.split},
                         {"duplicates", static_cast<int>(data.load.duplicates)},
                         {"out", job.out},
                         {"checkpoint", opt.checkpoint.dir},
                         {"k", job.k},
                         {"top_n", opt.top_n}};
  std::vector<std::pair<std::string, std::string>> fields;
  for (auto it = same.begin(); it != same.end(); ++it) fields.emplace_back(it.key(), show_json(it.value()));
  comm->check_same("settings", fields);
  const int P = comm->size();

  auto t_load = Clock::now();
  LoadOptions lo = data.load;
  if (lo.threads == 0) lo.threads = job.ctx.threads;
  Split split = make_split(read_shard(*comm, data.path, data.format, lo).data, job.split, job.ctx.seed);
  Partition part = partition(*comm, split.train, data.load.duplicates);
  split.train = Interactions();
  const double load_seconds = since(t_load);

  nlohmann::json report = {{"model", job.model},
                           {"dataset", job.data},
                           {"split", job.split},
                           {"ranks", P},
                           {"threads_per_rank", job.ctx.threads},
                           {"n_users", part.users.total()},
                           {"n_items", part.items.total()},
                           {"nnz", part.nnz},
                           {"load_seconds", load_seconds}};
  std::unique_ptr<Checkpoint> checkpoint;
  if (!opt.checkpoint.dir.empty()) {
    // What a resumed run must share with the one that saved: all of the above but the length.
    nlohmann::json keep = same;
    keep.erase("out");
    keep.erase("top_n");
    keep.erase("k");
    keep["params"].erase(job.model == "biased-mf" ? "epochs" : "iterations");
    keep["ranks"] = P;
    checkpoint = std::make_unique<Checkpoint>(*comm, opt.checkpoint, keep);
  }
  FitContext fc{*comm, part, job, params, report, checkpoint.get()};
  auto t_fit = Clock::now();
  LocalModel m = job.model == "implicit-als" ? fit_implicit_als(fc)
                 : job.model == "als"        ? fit_als(fc)
                                             : fit_biased_mf(fc);
  report["train_seconds"] = since(t_fit);
  report["epochs"] = report["iterations"].size();
  report["test"] = nullptr;
  const bool ranking = job.model == "implicit-als", held_out = job.split != "none";
  std::vector<std::vector<Ranked>> lists;
  auto t_eval = Clock::now();
  if (!opt.top_n.empty() || (held_out && ranking)) lists = top_n(*comm, part, m, job.k, job.ctx.threads);
  const DuplicatePolicy dup = data.load.duplicates;
  if (held_out)
    report["test"] = ranking ? evaluate_ranking(*comm, part, lists, split.test, dup, job.k)
                             : evaluate_rating(*comm, part, m, split.test, dup);
  if (!opt.top_n.empty()) {
    write_top_n(*comm, part, lists, opt.top_n);
    report["top_n"] = opt.top_n;
  }
  if (held_out || !opt.top_n.empty()) report["eval_seconds"] = since(t_eval);

  if (!job.out.empty()) {
    const nlohmann::json meta = {
        {"distributed", {{"ranks", P}}}, {"dataset", job.data}, {"split", job.split}, {"test", report["test"]}};
    // Sharded when asked, or when the gathered model would crowd rank 0's memory.
    const double gathered =
        4.0 * (m.k + 1) * static_cast<double>(part.users.total() + part.items.total()) + 8.0 * part.nnz;
    const double available = available_memory();
    std::string sharded = opt.sharded || (available > 0 && gathered > 0.5 * available) ? "1" : "";
    comm->broadcast(sharded, 0, "choose the model's layout");
    if (!sharded.empty()) {
      write_sharded(*comm, job, *model, part, m, meta);
      report["sharded"] = P;
      if (job.index) {  // only when the model was too large for rank 0 (--sharded was refused above)
        report["index"] =
            "not built: the model was written in parts (too large for rank 0's memory); build the index with "
            "mfkit index from the joined model";
        if (comm->rank() == 0)
          fmt::print(stderr, "mfkit: warning: --set index=hnsw: {}\n", report["index"].get<std::string>());
      }
    } else {
      write_gathered(*comm, job, *model, part, m, meta, job.index ? &index : nullptr);
    }
  }
  report["bytes_sent_total_per_rank"] = comm->allgather(static_cast<int64_t>(comm->bytes_sent()), "report");
  return report;
}

}  // namespace mfkit::dist
