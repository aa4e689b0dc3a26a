// mfkit/communicator.h - the collectives distributed training uses, over any backend.
//
// Usage (every rank runs the same code, e.g. launched by torchrun):
//   auto comm = mfkit::connect(mfkit::DistEnv::from_environment(), std::chrono::seconds(60));
//   comm->check_same("parameters", params.dump());    // refuse ranks started differently
//   comm->allreduce_sum(gram, "gram");                // every rank gets the sum
//   auto got = comm->alltoall(rows, send_counts, &recv_counts, "item factors");
//
// One backend today: libtorch's c10d ProcessGroupGloo over a TCPStore (src/dist/). Every call
// names its step; a peer that died or stopped answering for `timeout` makes the call throw
// DistError naming this rank, the step and the cause, so no rank hangs or writes half a result.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "mfkit/error.h"

namespace mfkit {

/// A collective that failed: a peer died, stopped answering, or was started differently.
class DistError : public Error {
 public:
  using Error::Error;
};

/// Where this process sits in the job: torchrun's environment variables.
struct DistEnv {
  int rank = 0;                           ///< RANK
  int world_size = 1;                     ///< WORLD_SIZE
  int local_rank = 0;                     ///< LOCAL_RANK (0 when unset)
  std::string master_addr = "127.0.0.1";  ///< MASTER_ADDR
  int master_port = 29500;                ///< MASTER_PORT
  /// TORCHELASTIC_USE_AGENT_STORE=True: torchrun's agent serves the store, every rank is a client.
  bool agent_store = false;
  /// Reads the variables above; ParamError naming the variable when one is malformed or
  /// inconsistent (RANK outside [0, WORLD_SIZE)). Without WORLD_SIZE: one process, rank 0.
  static DistEnv from_environment();
};

/// How many backend collectives a rank has run, by kind (what the network cost model counts:
/// each costs the backend's steps of latency, see docs/distributed.md). An all-to-all with
/// splits is two: the counts, then the entries. Allreduces of less than 1 KiB (checks, losses)
/// count apart from larger ones (Gram matrices): Gloo's ring takes fewer steps for them.
struct CollectiveCounts {
  int64_t allreduce = 0, allreduce_small = 0, allgather = 0, alltoall = 0, broadcast = 0, barrier = 0;
  CollectiveCounts operator-(const CollectiveCounts& o) const {
    return {allreduce - o.allreduce, allreduce_small - o.allreduce_small,
            allgather - o.allgather, alltoall - o.alltoall,
            broadcast - o.broadcast, barrier - o.barrier};
  }
};

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;

  /// Element-wise sum over ranks, in place (every rank gets the result).
  virtual void allreduce_sum(std::vector<double>& v, const char* step) = 0;
  virtual void allreduce_sum(std::vector<float>& v, const char* step) = 0;
  /// One value from every rank, in rank order.
  virtual std::vector<int64_t> allgather(int64_t v, const char* step) = 0;
  /// All-to-all with splits: send_counts[r] consecutive entries of `send` go to rank r; the
  /// entries from every rank come back in rank order, with their counts in *recv_counts.
  virtual std::vector<float> alltoall(const std::vector<float>& send, const std::vector<int64_t>& send_counts,
                                      std::vector<int64_t>* recv_counts, const char* step) = 0;
  virtual std::vector<int64_t> alltoall(const std::vector<int64_t>& send, const std::vector<int64_t>& send_counts,
                                        std::vector<int64_t>* recv_counts, const char* step) = 0;
  virtual std::vector<uint8_t> alltoall(const std::vector<uint8_t>& send, const std::vector<int64_t>& send_counts,
                                        std::vector<int64_t>* recv_counts, const char* step) = 0;
  /// The same when every rank already knows what it receives (`recv_counts[r]` entries from rank
  /// r, as factor rows whose layout is fixed for a whole fit): one collective instead of two, no
  /// counts sent. Each rank's recv_counts[r] must equal rank r's send_counts for it.
  virtual std::vector<float> alltoall_known(const std::vector<float>& send, const std::vector<int64_t>& send_counts,
                                            const std::vector<int64_t>& recv_counts, const char* step) = 0;
  /// `bytes` of rank `root` on every rank.
  virtual void broadcast(std::string& bytes, int root, const char* step) = 0;
  virtual void barrier(const char* step) = 0;
  /// Bytes this rank has handed to the backend to send so far (payloads, not protocol).
  virtual uint64_t bytes_sent() const = 0;
  /// The collectives run so far (none in one process).
  virtual CollectiveCounts collectives() const { return {}; }

  /// DistError on every rank unless all ranks passed the same `text` (parameters, data layout,
  /// version): the message names `what` and the ranks that differ from rank 0.
  void check_same(const std::string& what, const std::string& text);
  /// The same for named fields (name, value): the message also names the fields that differ and
  /// this rank's value of each.
  void check_same(const std::string& what, const std::vector<std::pair<std::string, std::string>>& fields);
  /// Runs `work` on every rank, then lets every rank learn whether any rank's work threw: a rank
  /// that failed rethrows its own exception, the others throw DistError naming the first rank that
  /// failed and `what` (so all stop together, none waits for a peer that gave up).
  void all_or_none(const char* step, const std::string& what, const std::function<void()>& work);
};

/// Joins the job described by `env` on the Gloo backend (rank 0 serves the TCPStore unless the
/// agent does). `timeout` bounds the rendezvous and every collective after it. A job of one
/// process (world_size 1) gets solo_communicator().
std::unique_ptr<Communicator> connect(const DistEnv& env, std::chrono::milliseconds timeout);
/// The communicator of a one-process job: every collective returns its input.
std::unique_ptr<Communicator> solo_communicator();

}  // namespace mfkit
