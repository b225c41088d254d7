#include "dist/stop_signals.h"

#include <unistd.h>

#include <csignal>
#include <cstring>
#include <stdexcept>

namespace shardnet::dist {
namespace {

std::atomic<int> g_stop_signal{0};
std::atomic<bool> g_installed{false};
int g_rank = 0;

// Async-signal-safe: atomics, write(2) and _exit only.
void write_text(const char* text) {
  const ssize_t ignored = ::write(STDERR_FILENO, text, std::strlen(text));
  (void)ignored;
}

void on_stop_signal(int signal) {
  int none = 0;
  if (!g_stop_signal.compare_exchange_strong(none, signal)) {
    if (signal == SIGINT) {
      write_text("shardnet: second interrupt: exiting at once, without a checkpoint\n");
      _exit(128 + SIGINT);
    }
    return;  // Slurm and mpirun may deliver the same request more than once
  }
  char line[160] = "shardnet: rank ";
  char digits[12];
  int n = 0;
  for (int r = g_rank; n == 0 || r > 0; r /= 10) digits[n++] = static_cast<char>('0' + r % 10);
  size_t at = std::strlen(line);
  while (n > 0) line[at++] = digits[--n];
  line[at] = '\0';
  std::strcat(line, signal == SIGTERM ? ": SIGTERM" : signal == SIGINT ? ": SIGINT" : ": SIGUSR1");
  std::strcat(line, ": stopping at the next step boundary with a checkpoint");
  std::strcat(line, signal == SIGINT ? " (interrupt again to exit at once)\n" : "\n");
  write_text(line);
}

}  // namespace

StopSignals::StopSignals(int rank) {
  if (g_installed.exchange(true)) throw std::logic_error("StopSignals: already installed in this process");
  g_rank = rank;
  g_stop_signal = 0;
  // SA_RESTART: blocking reads and MPI's system calls carry on.
  handlers_ = std::make_unique<SignalHandlers>(std::initializer_list<int>{SIGTERM, SIGINT, SIGUSR1}, on_stop_signal);
}

StopSignals::~StopSignals() {
  handlers_.reset();
  g_installed = false;
}

const std::atomic<int>& StopSignals::flag() { return g_stop_signal; }

std::string signal_name(int signal) {
  switch (signal) {
    case SIGTERM:
      return "SIGTERM";
    case SIGINT:
      return "SIGINT";
    case SIGUSR1:
      return "SIGUSR1";
    case SIGUSR2:
      return "SIGUSR2";
    case SIGHUP:
      return "SIGHUP";
    case SIGKILL:
      return "SIGKILL";
    default:
      return "signal " + std::to_string(signal);
  }
}

}  // namespace shardnet::dist
