// netdelay: holds every packet netfilter queues to it (iptables -j NFQUEUE) for a delay, then
// lets it go: the propagation delay of scripts/netsim.py's simulated links, where the kernel has
// no netem. Packets are released in due order (with jitter they may overtake each other, as on a
// real path).
//
//   netdelay QUEUE DELAY_MS [JITTER_MS]
//
// Runs until killed. Uses libnetfilter_queue (Debian's libnetfilter-queue-dev).
#include <arpa/inet.h>
#include <libnetfilter_queue/libnetfilter_queue.h>
#include <linux/netfilter.h>
#include <linux/netlink.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <queue>
#include <random>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Held {
  Clock::time_point due;
  uint32_t id;
  bool operator>(const Held& o) const { return due > o.due; }
};

struct State {
  std::priority_queue<Held, std::vector<Held>, std::greater<Held>> held;
  double delay_ms = 0, jitter_ms = 0;
  std::mt19937_64 rng{12345};
};

int on_packet(nfq_q_handle*, nfgenmsg*, nfq_data* nfa, void* data) {
  auto* s = static_cast<State*>(data);
  const nfqnl_msg_packet_hdr* ph = nfq_get_msg_packet_hdr(nfa);
  if (!ph) return 0;
  double ms = s->delay_ms;
  if (s->jitter_ms > 0) ms = std::max(0.0, std::normal_distribution<double>(s->delay_ms, s->jitter_ms)(s->rng));
  s->held.push({Clock::now() + std::chrono::microseconds(static_cast<int64_t>(ms * 1000)), ntohl(ph->packet_id)});
  return 0;
}

double number(const char* text, const char* what) {
  char* end = nullptr;
  const double v = std::strtod(text, &end);
  if (!end || *end || !(v >= 0) || v > 60000) {
    std::fprintf(stderr, "netdelay: %s '%s' is not a number of milliseconds in [0, 60000]\n", what, text);
    std::exit(2);
  }
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3 || argc > 4) {
    std::fprintf(stderr, "usage: netdelay QUEUE DELAY_MS [JITTER_MS]\n");
    return 2;
  }
  State s;
  const int queue = static_cast<int>(number(argv[1], "queue"));
  s.delay_ms = number(argv[2], "delay");
  if (argc == 4) s.jitter_ms = number(argv[3], "jitter");
  nfq_handle* h = nfq_open();
  if (!h) return std::perror("netdelay: nfq_open"), 1;
  nfq_q_handle* qh = nfq_create_queue(h, static_cast<uint16_t>(queue), &on_packet, &s);
  if (!qh) return std::fprintf(stderr, "netdelay: cannot bind queue %d (%s)\n", queue, std::strerror(errno)), 1;
  if (nfq_set_mode(qh, NFQNL_COPY_META, 0) < 0) return std::perror("netdelay: nfq_set_mode"), 1;
  nfq_set_queue_maxlen(qh, 1 << 20);
  // Whole GSO packets (up to 64 KiB on loopback), not one message per MTU-sized segment: without
  // this the kernel segments each before queueing, and the copies cost the ranks' CPU.
  nfq_set_queue_flags(qh, NFQA_CFG_F_GSO, NFQA_CFG_F_GSO);
  nfnl_rcvbufsiz(nfq_nfnlh(h), 64u << 20);
  const int fd = nfq_fd(h);
  int on = 1;
  setsockopt(fd, SOL_NETLINK, NETLINK_NO_ENOBUFS, &on, sizeof(on));
  std::fprintf(stderr, "netdelay: queue %d, delay %.3f ms, jitter %.3f ms\n", queue, s.delay_ms, s.jitter_ms);
  std::vector<char> buf(1 << 16);
  for (;;) {
    const auto now = Clock::now();
    while (!s.held.empty() && s.held.top().due <= now) {
      nfq_set_verdict(qh, s.held.top().id, NF_ACCEPT, 0, nullptr);
      s.held.pop();
    }
    timespec wait{};
    if (!s.held.empty()) {
      const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(s.held.top().due - now).count();
      wait.tv_sec = static_cast<time_t>(ns / 1000000000), wait.tv_nsec = static_cast<long>(ns % 1000000000);
    }
    pollfd p{fd, POLLIN, 0};
    const int r = ppoll(&p, 1, s.held.empty() ? nullptr : &wait, nullptr);
    if (r < 0 && errno != EINTR) return std::perror("netdelay: poll"), 1;
    if (r > 0) {
      for (;;) {
        const ssize_t n = recv(fd, buf.data(), buf.size(), MSG_DONTWAIT);
        if (n <= 0) break;
        nfq_handle_packet(h, buf.data(), static_cast<int>(n));
      }
    }
  }
}
