// One rank of the communicator tests (tests/dist/communicator_test.cpp starts several):
//   RANK=r WORLD_SIZE=n MASTER_PORT=p comm_worker MODE TIMEOUT_MS
// MODE collectives: every collective checked against its known answer; exit 0 and "ok".
// MODE latency: rank 0 prints, as JSON, the mean seconds of each collective as training calls it
// (bench/netsim_bench.py measures them on a simulated link to count their round trips).
// MODE differ: rank 1 passes other parameters to check_same. MODE die: rank 1 exits after the
// first allreduce. MODE hang: rank 1 stops answering. A DistError exits 2 with its message.
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

#include "mfkit/communicator.h"

using namespace mfkit;

static int fail(const std::string& what) {
  std::fprintf(stderr, "comm_worker: %s\n", what.c_str());
  return 1;
}

// Mean seconds of `f` over `reps` calls, after two unmeasured ones; every rank starts each call together.
template <class F>
static double timed(Communicator& comm, int reps, F&& f) {
  for (int k = 0; k < 2; ++k) f();
  double total = 0;
  for (int k = 0; k < reps; ++k) {
    comm.barrier("align");
    const auto t = std::chrono::steady_clock::now();
    f();
    total += std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
  }
  return total / reps;
}

static int latency(Communicator& comm) {
  const int n = comm.size(), reps = 10;
  std::vector<float> gram(64 * 64, 1.0f);  // a Gram matrix of 64 factors
  std::vector<double> check(2, 1.0);       // the NaN check and loss
  std::vector<float> rows(n * 16, 1.0f);   // a few factor rows to each rank
  std::vector<int64_t> counts(n, 16), got;
  std::string text(64, 'x');
  const double allreduce = timed(comm, reps, [&] { comm.allreduce_sum(gram, "gram"); });
  const double small = timed(comm, reps, [&] { comm.allreduce_sum(check, "check"); });
  const double allgather = timed(comm, reps, [&] { comm.allgather(1, "counts"); });
  // One all-to-all with splits: two backend all-to-alls (the counts, then the entries).
  const double alltoall = timed(comm, reps, [&] { comm.alltoall(rows, counts, &got, "rows"); }) / 2;
  const double broadcast = timed(comm, reps, [&] { comm.broadcast(text, 0, "text"); }) / 2;  // size, then bytes
  const double barrier = timed(comm, reps, [&] { comm.barrier("barrier"); });
  if (comm.rank() == 0)
    std::printf(
        "{\"ranks\": %d, \"allreduce\": %.6f, \"allreduce_small\": %.6f, \"allgather\": %.6f, "
        "\"alltoall\": %.6f, \"broadcast\": %.6f, \"barrier\": %.6f}\n",
        n, allreduce, small, allgather, alltoall, broadcast, barrier);
  return 0;
}

int main(int argc, char** argv) {
  if (argc != 3) return fail("usage: comm_worker MODE TIMEOUT_MS");
  const std::string mode = argv[1];
  try {
    auto comm = connect(DistEnv::from_environment(), std::chrono::milliseconds(std::stoi(argv[2])));
    const int r = comm->rank(), n = comm->size();
    // Gloo writes to peers with writev: a dead peer must not end this rank by SIGPIPE.
    struct sigaction pipe {};
    if (n > 1 && (sigaction(SIGPIPE, nullptr, &pipe) != 0 || pipe.sa_handler != SIG_IGN))
      return fail("SIGPIPE is not ignored after connect");
    if (mode == "latency") return latency(*comm);
    if (mode == "differ") comm->check_same("parameters", r == 1 ? "factors=8" : "factors=16");
    comm->check_same("parameters", "factors=16");
    std::vector<double> d{1.0 * r, 2.0};
    comm->allreduce_sum(d, "sum");
    if (d[0] != n * (n - 1) / 2.0 || d[1] != 2.0 * n) return fail("allreduce_sum(double) is wrong");
    if (mode == "die" && r == 1) return 3;
    if (mode == "hang" && r == 1) {  // silent for four times the timeout, then gone
      std::this_thread::sleep_for(std::chrono::milliseconds(4 * std::stoi(argv[2])));
      return 5;
    }
    std::vector<float> f(3, 0.5f);
    comm->allreduce_sum(f, "gram");
    if (f[2] != 0.5f * n) return fail("allreduce_sum(float) is wrong");
    auto g = comm->allgather(10 * r, "counts");
    for (int k = 0; k < n; ++k)
      if (g[k] != 10 * k) return fail("allgather is wrong");
    // Rank r sends r + d + 1 values r * 100 + d to rank d.
    std::vector<float> send;
    std::vector<int64_t> counts(n), got_counts;
    for (int dst = 0; dst < n; ++dst) {
      counts[dst] = r + dst + 1;
      send.insert(send.end(), counts[dst], static_cast<float>(r * 100 + dst));
    }
    std::vector<float> got = comm->alltoall(send, counts, &got_counts, "factor rows");
    size_t at = 0;
    for (int src = 0; src < n; ++src) {
      if (got_counts[src] != src + r + 1) return fail("alltoall counts are wrong");
      for (int64_t k = 0; k < got_counts[src]; ++k)
        if (got[at++] != static_cast<float>(src * 100 + r)) return fail("alltoall values are wrong");
    }
    if (at != got.size()) return fail("alltoall returned extra values");
    // The same exchange with the receive counts known beforehand: the same values, no counts sent.
    std::vector<int64_t> expect(n);
    for (int src = 0; src < n; ++src) expect[src] = src + r + 1;
    if (comm->alltoall_known(send, counts, expect, "known rows") != got) return fail("alltoall_known is wrong");
    std::vector<int64_t> ids, back = comm->alltoall(ids, std::vector<int64_t>(n, 0), &got_counts, "none");
    if (!back.empty()) return fail("an empty alltoall returned values");
    // Raw ids travel as bytes: rank r sends the name "u<r>" to every rank.
    std::vector<uint8_t> names;
    const std::string mine = "u" + std::to_string(r);
    for (int dst = 0; dst < n; ++dst) names.insert(names.end(), mine.begin(), mine.end());
    std::vector<uint8_t> heard = comm->alltoall(names, std::vector<int64_t>(n, mine.size()), &got_counts, "ids");
    std::string all(heard.begin(), heard.end()), want;
    for (int src = 0; src < n; ++src) want += "u" + std::to_string(src);
    if (all != want) return fail("alltoall of bytes is wrong: " + all);
    std::string text = r == 1 ? "from rank one" : "";
    comm->broadcast(text, 1 % n, "manifest");
    if (text != (n > 1 ? "from rank one" : "")) return fail("broadcast is wrong: '" + text + "'");
    comm->barrier("end");
    if (comm->bytes_sent() == 0 && n > 1) return fail("bytes_sent counted nothing");
    std::printf("ok %d\n", r);
    return 0;
  } catch (const DistError& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 2;
  } catch (const Error& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 4;
  }
}
