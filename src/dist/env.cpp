// DistEnv from torchrun's variables, and the check that every rank was started alike.
#include <charconv>
#include <cstdlib>
#include <exception>
#include <functional>
#include <memory>

#include "core/hash.h"
#include "mfkit/communicator.h"

namespace mfkit {

namespace {

// The integer in variable `name`, or `fallback` when unset; ParamError when it is not one.
int int_var(const char* name, int fallback) {
  const char* v = std::getenv(name);
  if (!v || !*v) return fallback;
  int out = 0;
  const char* end = v + std::char_traits<char>::length(v);
  auto [p, ec] = std::from_chars(v, end, out);
  if (ec != std::errc() || p != end)
    throw ParamError(std::string("distributed: ") + name + "='" + v + "' is not an integer");
  return out;
}

}  // namespace

DistEnv DistEnv::from_environment() {
  DistEnv e;
  e.world_size = int_var("WORLD_SIZE", 1);
  e.rank = int_var("RANK", 0);
  e.local_rank = int_var("LOCAL_RANK", 0);
  e.master_port = int_var("MASTER_PORT", e.master_port);
  if (const char* a = std::getenv("MASTER_ADDR"); a && *a) e.master_addr = a;
  if (const char* s = std::getenv("TORCHELASTIC_USE_AGENT_STORE"))
    e.agent_store = std::string(s) == "True" || std::string(s) == "true" || std::string(s) == "1";
  if (e.world_size < 1)
    throw ParamError("distributed: WORLD_SIZE=" + std::to_string(e.world_size) + " must be at least 1");
  if (e.rank < 0 || e.rank >= e.world_size)
    throw ParamError("distributed: RANK=" + std::to_string(e.rank) +
                     " is outside [0, WORLD_SIZE=" + std::to_string(e.world_size) + ")");
  if (e.master_port < 1 || e.master_port > 65535)
    throw ParamError("distributed: MASTER_PORT=" + std::to_string(e.master_port) + " is not a port");
  return e;
}

void Communicator::check_same(const std::string& what, const std::string& text) {
  std::vector<int64_t> all = allgather(static_cast<int64_t>(fnv1a(text) >> 1), ("check " + what).c_str());
  std::string differ;
  for (int r = 1; r < size(); ++r)
    if (all[r] != all[0]) differ += (differ.empty() ? "" : ", ") + std::to_string(r);
  if (!differ.empty())
    throw DistError("distributed: rank " + std::to_string(rank()) + ": ranks " + differ + " were started with other " +
                    what + " than rank 0; start every rank with the same");
}

void Communicator::check_same(const std::string& what, const std::vector<std::pair<std::string, std::string>>& fields) {
  std::string differ, keys;
  std::vector<char> rank_differs(static_cast<size_t>(size()), 0);
  for (const auto& [name, value] : fields) {
    std::vector<int64_t> all = allgather(static_cast<int64_t>(fnv1a(value) >> 1), ("check " + what).c_str());
    bool field_differs = false;
    for (int r = 1; r < size(); ++r)
      if (all[r] != all[0]) rank_differs[r] = 1, field_differs = true;
    if (field_differs)
      keys += (keys.empty() ? "" : "; ") + name +
              " (here: " + (value.size() > 200 ? value.substr(0, 200) + "..." : value) + ")";
  }
  for (int r = 1; r < size(); ++r)
    if (rank_differs[r]) differ += (differ.empty() ? "" : ", ") + std::to_string(r);
  if (!differ.empty())
    throw DistError("distributed: rank " + std::to_string(rank()) + ": ranks " + differ + " were started with other " +
                    what + " than rank 0, in " + keys + "; start every rank with the same");
}

void Communicator::all_or_none(const char* step, const std::string& what, const std::function<void()>& work) {
  std::exception_ptr error;
  try {
    work();
  } catch (const std::exception&) {
    error = std::current_exception();
  }
  const std::vector<int64_t> failed = allgather(error ? 1 : 0, step);
  if (error) std::rethrow_exception(error);
  for (int r = 0; r < size(); ++r)
    if (failed[r])
      throw DistError("distributed: rank " + std::to_string(r) + " of " + std::to_string(size()) + " could not " +
                      what + " (see its message)");
}

namespace {

// A job of one process: every collective is the identity (no network, no libtorch).
class SoloCommunicator : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  void allreduce_sum(std::vector<double>&, const char*) override {}
  void allreduce_sum(std::vector<float>&, const char*) override {}
  std::vector<int64_t> allgather(int64_t v, const char*) override { return {v}; }
  std::vector<float> alltoall(const std::vector<float>& send, const std::vector<int64_t>& counts,
                              std::vector<int64_t>* recv_counts, const char*) override {
    return echo(send, counts, recv_counts);
  }
  std::vector<int64_t> alltoall(const std::vector<int64_t>& send, const std::vector<int64_t>& counts,
                                std::vector<int64_t>* recv_counts, const char*) override {
    return echo(send, counts, recv_counts);
  }
  std::vector<uint8_t> alltoall(const std::vector<uint8_t>& send, const std::vector<int64_t>& counts,
                                std::vector<int64_t>* recv_counts, const char*) override {
    return echo(send, counts, recv_counts);
  }
  std::vector<float> alltoall_known(const std::vector<float>& send, const std::vector<int64_t>&,
                                    const std::vector<int64_t>&, const char*) override {
    return send;
  }
  void broadcast(std::string&, int, const char*) override {}
  void barrier(const char*) override {}
  uint64_t bytes_sent() const override { return 0; }

 private:
  template <class T>
  static std::vector<T> echo(const std::vector<T>& send, const std::vector<int64_t>& counts,
                             std::vector<int64_t>* recv) {
    if (recv) *recv = counts;
    return send;
  }
};

}  // namespace

std::unique_ptr<Communicator> solo_communicator() { return std::make_unique<SoloCommunicator>(); }

}  // namespace mfkit
