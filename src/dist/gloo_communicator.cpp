// Communicator on libtorch's c10d: ProcessGroupGloo over a TCPStore (the only file that sees
// c10d or Gloo; built with USE_C10D_GLOO, Debian's libgloo-dev providing Gloo's headers).
#include <ATen/ATen.h>
#include <signal.h>
#include <unistd.h>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include "core/check.h"
#include "core/torch_part.h"
#include "mfkit/communicator.h"

namespace mfkit {

namespace {

class GlooCommunicator : public Communicator {
 public:
  GlooCommunicator(const DistEnv& env, std::chrono::milliseconds timeout) : rank_(env.rank), size_(env.world_size) {
    run("connect", [&] {
      c10d::TCPStoreOptions o;
      o.port = static_cast<uint16_t>(env.master_port);
      o.isServer = env.rank == 0 && !env.agent_store;
      o.numWorkers = env.agent_store ? c10::nullopt : c10::optional<size_t>(env.world_size);
      o.waitWorkers = false;
      o.timeout = timeout;
      store_ = c10::make_intrusive<c10d::TCPStore>(env.master_addr, o);
      auto opts = c10d::ProcessGroupGloo::Options::create(timeout);
      opts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname(device_host(env.master_addr)));
      opts->threads = 1;  // the collectives' own thread; mfkit's kernels bring theirs
      pg_ = c10::make_intrusive<c10d::ProcessGroupGloo>(store_, env.rank, env.world_size, opts);
    });
  }

  int rank() const override { return rank_; }
  int size() const override { return size_; }

  void allreduce_sum(std::vector<double>& v, const char* step) override {
    reduce(v.data(), v.size(), at::kDouble, step);
  }
  void allreduce_sum(std::vector<float>& v, const char* step) override { reduce(v.data(), v.size(), at::kFloat, step); }

  std::vector<int64_t> allgather(int64_t v, const char* step) override {
    std::vector<int64_t> out(size_);
    run(step, [&] {
      std::vector<at::Tensor> in{at::full({1}, v, at::kLong)};
      std::vector<std::vector<at::Tensor>> all(1);
      for (int r = 0; r < size_; ++r) all[0].push_back(at::from_blob(&out[r], {1}, at::kLong));
      pg_->allgather(all, in)->wait();
      ++calls_.allgather;
    });
    sent_ += sizeof(int64_t) * static_cast<uint64_t>(size_ - 1);
    return out;
  }

  std::vector<float> alltoall(const std::vector<float>& send, const std::vector<int64_t>& send_counts,
                              std::vector<int64_t>* recv_counts, const char* step) override {
    return exchange(send, send_counts, recv_counts, at::kFloat, step);
  }
  std::vector<int64_t> alltoall(const std::vector<int64_t>& send, const std::vector<int64_t>& send_counts,
                                std::vector<int64_t>* recv_counts, const char* step) override {
    return exchange(send, send_counts, recv_counts, at::kLong, step);
  }

  std::vector<uint8_t> alltoall(const std::vector<uint8_t>& send, const std::vector<int64_t>& send_counts,
                                std::vector<int64_t>* recv_counts, const char* step) override {
    return exchange(send, send_counts, recv_counts, at::kByte, step);
  }

  std::vector<float> alltoall_known(const std::vector<float>& send, const std::vector<int64_t>& send_counts,
                                    const std::vector<int64_t>& recv_counts, const char* step) override {
    const int64_t total = check_counts(send, send_counts, step);
    MFKIT_CHECK(static_cast<int>(recv_counts.size()) == size_,
                std::string("step '") + step + "': one receive count per rank");
    std::vector<float> out;
    run(step, [&] { out = entries(send, total, send_counts, recv_counts, at::kFloat); });
    count_sent(send_counts, sizeof(float), 0);
    return out;
  }

  void broadcast(std::string& bytes, int root, const char* step) override {
    std::vector<int64_t> n{static_cast<int64_t>(bytes.size())};
    run(step, [&] {
      std::vector<at::Tensor> t{at::from_blob(n.data(), {1}, at::kLong)};
      pg_->broadcast(t, c10d::BroadcastOptions{root})->wait();
      ++calls_.broadcast;
      bytes.resize(static_cast<size_t>(n[0]));
      if (n[0] == 0) return;
      std::vector<at::Tensor> b{at::from_blob(bytes.data(), {n[0]}, at::kByte)};
      pg_->broadcast(b, c10d::BroadcastOptions{root})->wait();
      ++calls_.broadcast;
    });
    if (rank_ == root) sent_ += bytes.size() * static_cast<uint64_t>(size_ - 1);
  }

  void barrier(const char* step) override {
    run(step, [&] { pg_->barrier()->wait(); });
    ++calls_.barrier;
  }

  uint64_t bytes_sent() const override { return sent_; }
  CollectiveCounts collectives() const override { return calls_; }

 private:
  // Gloo binds its device to the address this rank reaches the master from: loopback for a
  // single-machine job, else this machine's own name.
  static std::string device_host(const std::string& master) {
    if (master == "127.0.0.1" || master == "localhost" || master == "::1") return "127.0.0.1";
    char name[256] = {0};
    return ::gethostname(name, sizeof(name) - 1) == 0 ? std::string(name) : master;
  }

  template <class F>
  void run(const char* step, F&& f) {
    try {
      f();
    } catch (const std::exception& e) {
      std::string why = e.what();
      if (auto nl = why.find('\n'); nl != std::string::npos) why.resize(nl);  // c10's backtrace follows
      throw DistError("distributed: rank " + std::to_string(rank_) + " of " + std::to_string(size_) + ", step '" +
                      step + "': " + why + " (a peer died, stopped answering or was never started)");
    }
  }

  void reduce(void* data, size_t n, at::ScalarType type, const char* step) {
    if (n == 0) return;
    run(step, [&] {
      std::vector<at::Tensor> t{at::from_blob(data, {static_cast<int64_t>(n)}, type)};
      pg_->allreduce(t)->wait();
      ++(n * at::elementSize(type) < 1024 ? calls_.allreduce_small : calls_.allreduce);
    });
    sent_ += 2 * n * at::elementSize(type) * static_cast<uint64_t>(size_ - 1) / size_;  // ring allreduce
  }

  // The entries `send` holds, after checking that `send_counts` has one count per rank adding up to them.
  template <class T>
  int64_t check_counts(const std::vector<T>& send, const std::vector<int64_t>& send_counts, const char* step) const {
    MFKIT_CHECK(static_cast<int>(send_counts.size()) == size_,
                std::string("step '") + step + "': one send count per rank");
    int64_t total = 0;
    for (int64_t c : send_counts) total += c;
    MFKIT_CHECK(total == static_cast<int64_t>(send.size()),
                std::string("step '") + step + "': send counts add up to the entries given");
    return total;
  }

  template <class T>
  std::vector<T> exchange(const std::vector<T>& send, const std::vector<int64_t>& send_counts,
                          std::vector<int64_t>* recv_counts, at::ScalarType type, const char* step) {
    const int64_t total = check_counts(send, send_counts, step);
    std::vector<int64_t> counts(size_);
    std::vector<T> out;
    run(step, [&] {
      std::vector<int64_t> sc = send_counts, none;
      at::Tensor cin = at::from_blob(sc.data(), {size_}, at::kLong),
                 cout = at::from_blob(counts.data(), {size_}, at::kLong);
      pg_->alltoall_base(cout, cin, none, none)->wait();
      ++calls_.alltoall;
      out = entries(send, total, send_counts, counts, type);
    });
    count_sent(send_counts, sizeof(T), sizeof(int64_t));
    if (recv_counts) *recv_counts = counts;
    return out;
  }

  // The entries of an all-to-all whose counts both sides know (inside run()).
  template <class T>
  std::vector<T> entries(const std::vector<T>& send, int64_t total, const std::vector<int64_t>& send_counts,
                         const std::vector<int64_t>& recv_counts, at::ScalarType type) {
    int64_t n = 0;
    for (int64_t c : recv_counts) n += c;
    std::vector<T> out(static_cast<size_t>(n));
    std::vector<int64_t> sc = send_counts, rc = recv_counts;
    at::Tensor in = at::from_blob(const_cast<T*>(send.data()), {total}, type);
    at::Tensor got = at::from_blob(out.data(), {n}, type);
    pg_->alltoall_base(got, in, rc, sc)->wait();
    ++calls_.alltoall;
    return out;
  }

  // Bytes handed to the backend for an all-to-all: the entries to every other rank, plus `header`
  // bytes each when the counts travelled too.
  void count_sent(const std::vector<int64_t>& send_counts, size_t entry, size_t header) {
    for (int r = 0; r < size_; ++r)
      if (r != rank_) sent_ += static_cast<uint64_t>(send_counts[r]) * entry + header;
  }

  int rank_, size_;
  uint64_t sent_ = 0;
  CollectiveCounts calls_;
  c10::intrusive_ptr<c10d::Store> store_;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> pg_;
};

}  // namespace

std::unique_ptr<Communicator> gloo_connect(const DistEnv& env, std::chrono::milliseconds timeout) {
  // Gloo writes to its peers with writev, and a write to the socket of a peer that has died
  // raises SIGPIPE, whose default action ends this process without a word (CI saw a surviving
  // rank exit by signal, no message, instead of naming the step). Ignored, the write fails with
  // EPIPE and the collective reports its step. A handler the program installed is left alone.
  struct sigaction old {};
  if (sigaction(SIGPIPE, nullptr, &old) == 0 && old.sa_handler == SIG_DFL) ::signal(SIGPIPE, SIG_IGN);
  return std::make_unique<GlooCommunicator>(env, timeout);
}

}  // namespace mfkit
