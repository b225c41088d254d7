#include "dist/stall_inspector.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <optional>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <utility>
#include <vector>

#include "dist/exit_status.h"

namespace shardnet::dist {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&&) = delete;
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

// One datagram, little-endian whatever the host: kind, rank, job token, collectives entered,
// step, the last collective's name.
enum class Kind : uint8_t { kHeartbeat = 1, kReply = 2, kGoodbye = 3 };
constexpr uint32_t kMagic = 0x53484254;  // "SHBT"
constexpr size_t kNameBytes = 24;
constexpr size_t kPacketBytes = 4 + 1 + 4 + 8 + 8 + 8 + kNameBytes;

struct Packet {
  Kind kind = Kind::kHeartbeat;
  uint32_t rank = 0;
  uint64_t token = 0, count = 0;
  int64_t step = -1;
  std::string name;
};

void put(uint8_t*& at, uint64_t value, size_t bytes) {
  for (size_t i = 0; i < bytes; ++i) *at++ = static_cast<uint8_t>(value >> (8 * i));
}
uint64_t take(const uint8_t*& at, size_t bytes) {
  uint64_t value = 0;
  for (size_t i = 0; i < bytes; ++i) value |= static_cast<uint64_t>(*at++) << (8 * i);
  return value;
}

std::vector<uint8_t> encode(const Packet& p) {
  std::vector<uint8_t> bytes(kPacketBytes, 0);
  uint8_t* at = bytes.data();
  put(at, kMagic, 4);
  put(at, static_cast<uint8_t>(p.kind), 1);
  put(at, p.rank, 4);
  put(at, p.token, 8);
  put(at, p.count, 8);
  put(at, static_cast<uint64_t>(p.step), 8);
  // At most kNameBytes - 1 characters: the zero-filled rest ends the name.
  std::copy_n(p.name.begin(), std::min(p.name.size(), kNameBytes - 1), at);
  return bytes;
}

// Anything that is not one of this job's packets (another job, a stray sender) is dropped.
bool decode(const uint8_t* bytes, ssize_t size, uint64_t token, int world, Packet& p) {
  if (size != static_cast<ssize_t>(kPacketBytes)) return false;
  const uint8_t* at = bytes;
  if (take(at, 4) != kMagic) return false;
  p.kind = static_cast<Kind>(take(at, 1));
  p.rank = static_cast<uint32_t>(take(at, 4));
  p.token = take(at, 8);
  p.count = take(at, 8);
  p.step = static_cast<int64_t>(take(at, 8));
  p.name.assign(reinterpret_cast<const char*>(at), strnlen(reinterpret_cast<const char*>(at), kNameBytes));
  return p.token == token && p.rank < static_cast<uint32_t>(world) &&
         (p.kind == Kind::kHeartbeat || p.kind == Kind::kReply || p.kind == Kind::kGoodbye);
}

Fd udp_socket() {
  Fd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) throw std::runtime_error(std::string("stall inspector: socket: ") + std::strerror(errno));
  sockaddr_in any{};
  any.sin_family = AF_INET;
  any.sin_addr.s_addr = htonl(INADDR_ANY);
  any.sin_port = 0;
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&any), sizeof any) != 0) {
    throw std::runtime_error(std::string("stall inspector: bind: ") + std::strerror(errno));
  }
  return fd;
}

uint16_t port_of(const Fd& fd) {
  sockaddr_in bound{};
  socklen_t length = sizeof bound;
  if (::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&bound), &length) != 0) {
    throw std::runtime_error(std::string("stall inspector: getsockname: ") + std::strerror(errno));
  }
  return ntohs(bound.sin_port);
}

// This host's IPv4 addresses that are up, and 127.0.0.1 last.
std::vector<std::string> local_addresses() {
  std::vector<std::string> found;
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return {"127.0.0.1"};  // then only ranks on rank 0's host reach it
  for (const ifaddrs* a = list; a != nullptr; a = a->ifa_next) {
    if (a->ifa_addr == nullptr || a->ifa_addr->sa_family != AF_INET || (a->ifa_flags & IFF_UP) == 0) continue;
    if ((a->ifa_flags & IFF_LOOPBACK) != 0) continue;
    char text[INET_ADDRSTRLEN];
    const auto* in = reinterpret_cast<const sockaddr_in*>(a->ifa_addr);
    if (::inet_ntop(AF_INET, &in->sin_addr, text, sizeof text) != nullptr) found.emplace_back(text);
  }
  ::freeifaddrs(list);
  found.emplace_back("127.0.0.1");
  return found;
}

std::string host_name() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0) return "unknown host";
  return name;
}

// The job's end, from a thread other than the one in MPI: one line on stderr and _exit, which
// mpirun sees as a failed rank and answers by ending the others.
[[noreturn]] void end_job(const std::string& line) {
  const std::string text = "shardnet: " + line + "\n";
  const ssize_t ignored = ::write(STDERR_FILENO, text.data(), text.size());
  (void)ignored;
  _exit(kExitStalled);
}

void say(const std::string& line) {
  const std::string text = "shardnet: warning: " + line + "\n";
  const ssize_t ignored = ::write(STDERR_FILENO, text.data(), text.size());
  (void)ignored;
}

std::string fixed(double seconds) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f", seconds);
  return text;
}

}  // namespace

struct StallInspector::State {
  struct Peer {  // rank 0's view of one rank
    std::string host;
    uint64_t count = 0;
    int64_t step = -1;
    std::string last = "none yet";
    Clock::time_point heard, moved;
    sockaddr_in address{};
    bool have_address = false, done = false, warned = false;
  };

  const Communicator& comm;
  StallLimits limits;
  double interval;
  Fd fd;
  uint64_t token = 0;
  std::string rank0_host;
  std::vector<sockaddr_in> rank0_addresses;  // ranks other than 0: where to send
  std::optional<sockaddr_in> reached;        // the one of them that answered last
  std::vector<Peer> peers;                   // rank 0 only
  Clock::time_point last_reply;
  bool rank0_done = false, rank0_warned = false;
  std::atomic<bool> stopping{false};
  std::atomic<uint64_t> received{0};
  std::thread thread;

  State(const Communicator& c, StallLimits l) : comm(c), limits(l), fd(udp_socket()) {
    double shortest = 60.0;
    for (double limit : {limits.warning_seconds, limits.timeout_seconds}) {
      if (limit > 0.0) shortest = std::min(shortest, limit);
    }
    interval = std::clamp(shortest / 8.0, 0.05, 1.0);
  }

  void send_to(const sockaddr_in& to, const Packet& p) const {
    const auto bytes = encode(p);
    // Best effort: an unreachable address of several, or a full buffer, is what heartbeats are for.
    ::sendto(fd.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL, reinterpret_cast<const sockaddr*>(&to), sizeof to);
  }

  Packet own_packet(Kind kind) const {
    const Progress& progress = comm.progress();
    Packet p;
    p.kind = kind;
    p.rank = static_cast<uint32_t>(comm.rank());
    p.token = token;
    p.count = progress.collectives.load(std::memory_order_acquire);
    p.step = progress.step.load(std::memory_order_relaxed);
    p.name = progress.last_collective.load(std::memory_order_relaxed);
    return p;
  }

  // Hands each of this job's datagrams to `handle` until `seconds` have passed (not sooner: the
  // heartbeats keep their pace whatever arrives).
  template <typename Handle>
  void receive_for(double seconds, Handle handle) {
    const auto until =
        Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
    for (auto now = Clock::now(); now < until && !stopping; now = Clock::now()) {
      pollfd waiting{fd.get(), POLLIN, 0};
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - now).count();
      if (::poll(&waiting, 1, static_cast<int>(std::max<int64_t>(left, 1))) <= 0) continue;
      uint8_t bytes[kPacketBytes + 1];
      for (;;) {
        sockaddr_in from{};
        socklen_t length = sizeof from;
        const ssize_t n = ::recvfrom(fd.get(), bytes, sizeof bytes, 0, reinterpret_cast<sockaddr*>(&from), &length);
        if (n < 0) break;  // EAGAIN: all read
        Packet p;
        if (decode(bytes, n, token, comm.size(), p)) {
          ++received;
          handle(p, from);
        }
      }
    }
  }

  void update(Peer& peer, const Packet& p, Clock::time_point now) {
    peer.heard = now;
    if (p.count != peer.count) {
      peer.moved = now;
      peer.warned = false;
    }
    peer.count = p.count;
    peer.step = p.step;
    peer.last = p.name;
  }

  // Rank 0: one verdict per rank that is not done.
  void inspect(Clock::time_point now) {
    uint64_t most = 0;
    for (const Peer& peer : peers) most = std::max(most, peer.count);
    std::string waiting;
    int waiting_count = 0;
    for (size_t r = 0; r < peers.size(); ++r) {
      if (peers[r].count == most && !peers[r].done && waiting_count++ < 8)
        waiting += (waiting.empty() ? "" : ",") + std::to_string(r);
    }
    for (size_t r = 0; r < peers.size(); ++r) {
      Peer& peer = peers[r];
      if (peer.done) continue;
      const double silent = seconds_between(peer.heard, now);
      const double behind = peer.count < most ? seconds_between(peer.moved, now) : 0.0;
      const double stalled = std::max(silent, behind);
      const bool warn = limits.warning_seconds > 0.0 && stalled >= limits.warning_seconds && !peer.warned;
      const bool end = limits.timeout_seconds > 0.0 && stalled >= limits.timeout_seconds;
      if (!warn && !end) continue;
      const std::string who = "rank " + std::to_string(r) + " (host " + peer.host + ")";
      const std::string where =
          "step " + std::to_string(peer.step) + ", collective #" + std::to_string(peer.count) + " " + peer.last;
      std::string why;
      // Heartbeats come every `interval`: a few missed mean the rank's process is not running.
      if (silent > std::max(4 * interval, 1.0)) {
        why = who + " has sent no heartbeat for " + fixed(silent) + " s: it is stopped, hung or unreachable (last at " +
              where + ")";
      } else {
        why = who + " has entered no collective for " + fixed(behind) + " s while rank(s) " + waiting +
              " wait in collective #" + std::to_string(most) + "; it is alive (heartbeat " + fixed(silent) +
              " s ago) but busy or blocked outside MPI (a data read?), at " + where;
      }
      if (end) end_job("stall: " + why + "; ending the job (--stall-timeout " + fixed(limits.timeout_seconds) + ")");
      say("stall: " + why +
          (limits.timeout_seconds > 0.0 ? " (the job ends at --stall-timeout " + fixed(limits.timeout_seconds) + " s)"
                                        : ""));
      peer.warned = true;
    }
  }

  // True when this thread did not run for a while (the process was stopped, or the machine
  // suspended): the silence it would see then is its own, not the others'.
  bool was_not_running(Clock::time_point& last_turn) const {
    const auto now = Clock::now();
    const bool gap = seconds_between(last_turn, now) > std::max(4 * interval, 1.0);
    last_turn = now;
    return gap;
  }

  void run_rank0() {
    auto last_turn = Clock::now();
    while (!stopping) {
      receive_for(interval, [&](const Packet& p, const sockaddr_in& from) {
        Peer& peer = peers[p.rank];
        const auto now = Clock::now();
        if (p.kind == Kind::kGoodbye) {
          peer.done = true;
          return;
        }
        if (p.kind != Kind::kHeartbeat) return;
        update(peer, p, now);
        peer.address = from;
        peer.have_address = true;
        send_to(from, own_packet(Kind::kReply));
      });
      const auto now = Clock::now();
      if (was_not_running(last_turn)) {
        for (Peer& peer : peers) peer.heard = peer.moved = now;
      }
      update(peers[0], own_packet(Kind::kHeartbeat), now);
      inspect(now);
    }
  }

  void run_other() {
    const std::string me = "rank " + std::to_string(comm.rank()) + " (host " + host_name() + ")";
    auto last_turn = Clock::now();
    while (!stopping) {
      const Packet beat = own_packet(Kind::kHeartbeat);
      if (reached) {
        send_to(*reached, beat);
      } else {
        for (const sockaddr_in& to : rank0_addresses) send_to(to, beat);
      }
      receive_for(interval, [&](const Packet& p, const sockaddr_in& from) {
        if (p.rank != 0) return;
        if (p.kind == Kind::kGoodbye) rank0_done = true;
        if (p.kind == Kind::kReply) {
          last_reply = Clock::now();
          reached = from;  // the address of rank 0's that works: the others need no copies
        }
      });
      if (was_not_running(last_turn)) last_reply = Clock::now();
      if (rank0_done) continue;
      const double silent = seconds_between(last_reply, Clock::now());
      if (silent > std::max(4 * interval, 1.0)) reached.reset();  // try all of rank 0's addresses again
      const std::string why = me + ": no reply from rank 0 (host " + rank0_host + ") for " + fixed(silent) +
                              " s: it is stopped, hung or unreachable";
      if (limits.timeout_seconds > 0.0 && silent >= limits.timeout_seconds) {
        end_job("stall: " + why + "; ending this rank (--stall-timeout " + fixed(limits.timeout_seconds) + ")");
      }
      if (limits.warning_seconds > 0.0 && silent >= limits.warning_seconds && !rank0_warned) {
        say("stall: " + why);
        rank0_warned = true;
      } else if (silent < limits.warning_seconds) {
        rank0_warned = false;
      }
    }
  }

  // Collective: rank 0's token, port, host and addresses to all; every rank's host to rank 0.
  void exchange() {
    std::string setup;
    if (comm.rank() == 0) {
      token = std::random_device{}();
      token = (token << 32) ^ std::random_device{}();
      std::ostringstream out;
      out << token << ' ' << port_of(fd) << ' ' << host_name();
      for (const auto& address : local_addresses()) out << ' ' << address;
      setup = out.str();
    }
    comm.broadcast(setup, 0);
    const auto hosts = comm.gather(host_name(), 0);
    std::istringstream in(setup);
    unsigned port = 0;
    in >> token >> port >> rank0_host;
    const bool same_host = rank0_host == host_name();
    for (std::string text; in >> text;) {
      sockaddr_in to{};
      to.sin_family = AF_INET;
      to.sin_port = htons(static_cast<uint16_t>(port));
      if (::inet_pton(AF_INET, text.c_str(), &to.sin_addr) != 1) continue;
      // On rank 0's host, loopback alone (nothing leaves the machine); elsewhere its other addresses.
      if ((text.rfind("127.", 0) == 0) != same_host) continue;
      rank0_addresses.push_back(to);
    }
    const auto now = Clock::now();
    last_reply = now;
    if (comm.rank() == 0) {
      peers.resize(static_cast<size_t>(comm.size()));
      for (size_t r = 0; r < peers.size(); ++r) {
        peers[r].host = hosts[r];
        peers[r].heard = peers[r].moved = now;
      }
    }
  }

  // Sent twice: a datagram may be lost, and a rank taken for stalled after its goodbye ends a job
  // that succeeded.
  void say_goodbye() {
    const Packet bye = own_packet(Kind::kGoodbye);
    for (int copy = 0; copy < 2; ++copy) {
      if (comm.rank() != 0) {
        if (reached) send_to(*reached, bye);
        for (const sockaddr_in& to : rank0_addresses) send_to(to, bye);
        continue;
      }
      for (size_t r = 1; r < peers.size(); ++r) {
        if (peers[r].have_address) send_to(peers[r].address, bye);
      }
    }
  }
};

StallInspector::StallInspector(const Communicator& comm, StallLimits limits) {
  if (comm.size() == 1) return;
  state_ = std::make_unique<State>(comm, limits);
  state_->exchange();  // on every rank whatever the limits, so that ranks always agree on the calls
  if (!limits.enabled()) {
    state_.reset();
    return;
  }
  State* s = state_.get();
  s->thread = std::thread([s] { s->comm.rank() == 0 ? s->run_rank0() : s->run_other(); });
}

StallInspector::~StallInspector() {
  if (!state_) return;
  state_->stopping = true;
  state_->thread.join();
  state_->say_goodbye();
}

uint64_t StallInspector::heartbeats_received() const { return state_ ? state_->received.load() : 0; }

}  // namespace shardnet::dist
