// Test helper: runs several processes as the ranks of one job on loopback (free port, bounded).
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace mfkit::test {

// A port nobody listens on now (the kernel's choice for port 0).
inline int free_port() {
  int s = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  socklen_t len = sizeof(a);
  ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(s);
  return ntohs(a.sin_port);
}

struct Rank {
  int code = -1;  // exit code; -1 when it had to be killed at the deadline
  std::string err;
  double seconds = 0;
};

// Starts `n` processes of `args` (the executable first) as ranks of one job on loopback and
// waits for all of them, killing any still running after `limit`; stderr of rank r is kept.
// With kill >= 0, rank `kill` is killed (SIGKILL) `kill_after` seconds in, or, with `kill_when`,
// as soon as it returns true (polled every 20 ms). `per_rank(r, args)` may change rank r's
// arguments (ranks started differently).
inline std::vector<Rank> run_ranks(int n, const std::vector<std::string>& args, std::chrono::seconds limit,
                                   const std::string& dir, int kill = -1, double kill_after = 0,
                                   const std::function<bool()>& kill_when = nullptr,
                                   const std::function<void(int, std::vector<std::string>&)>& per_rank = nullptr) {
  const std::string port = std::to_string(free_port());
  std::vector<pid_t> pids(n);
  const auto start = std::chrono::steady_clock::now();
  for (int r = 0; r < n; ++r) {
    std::vector<std::string> env_s;
    for (char** e = environ; *e; ++e) env_s.push_back(*e);
    env_s.insert(env_s.end(),
                 {"RANK=" + std::to_string(r), "WORLD_SIZE=" + std::to_string(n), "LOCAL_RANK=" + std::to_string(r),
                  "MASTER_ADDR=127.0.0.1", "MASTER_PORT=" + port, "OMP_NUM_THREADS=1"});
    std::vector<char*> env;
    for (auto& s : env_s) env.push_back(s.data());
    env.push_back(nullptr);
    std::string err = dir + "/err" + std::to_string(r);
    std::vector<std::string> args_s(args);
    if (per_rank) per_rank(r, args_s);
    std::vector<char*> argv;
    for (auto& s : args_s) argv.push_back(s.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    EXPECT_EQ(posix_spawn(&pids[r], args_s[0].c_str(), &fa, nullptr, argv.data(), env.data()), 0);
    posix_spawn_file_actions_destroy(&fa);
  }
  std::vector<Rank> out(n);
  int left = n;
  while (left > 0) {
    const double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    for (int r = 0; r < n; ++r) {
      if (pids[r] == 0) continue;
      if (r == kill && (kill_when ? kill_when() : t > kill_after)) ::kill(pids[r], SIGKILL);
      int status = 0;
      if (::waitpid(pids[r], &status, WNOHANG) == pids[r]) {
        out[r].code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        out[r].seconds = t;
        pids[r] = 0;
        --left;
      } else if (t > limit.count()) {
        ::kill(pids[r], SIGKILL);
        ::waitpid(pids[r], &status, 0);
        pids[r] = 0;
        --left;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  for (int r = 0; r < n; ++r) {
    std::ifstream f(dir + "/err" + std::to_string(r));
    std::stringstream ss;
    ss << f.rdbuf();
    out[r].err = ss.str();
  }
  return out;
}

}  // namespace mfkit::test
