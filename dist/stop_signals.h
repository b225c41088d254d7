#pragma once
// Graceful stop on the signals a cluster sends: SIGTERM (Slurm at preemption and at the time limit,
// `kill`), SIGINT (Ctrl-C) and SIGUSR1 (Slurm's `--signal`, and what `shardnet launch` turns a
// SIGTERM or SIGINT into, because mpirun forwards SIGUSR1 untouched but kills its ranks one second
// after forwarding a SIGTERM). The handler only records the signal; the training loop stops at a
// step boundary that all ranks agree on (Collective::stop_agreed) and checkpoints there. A second
// SIGINT ends the process at once (exit status 130).
#include <atomic>
#include <memory>
#include <string>

#include "dist/signal_handlers.h"

namespace shardnet::dist {

class StopSignals {
 public:
  // Installs the handlers; `rank` names this process in the one line the handler prints.
  // One instance at a time per process.
  explicit StopSignals(int rank = 0);
  // Restores the handlers that were there before.
  ~StopSignals();
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

  // The first stop signal received, 0 before any: what Collective::watch_stop_flag reads.
  static const std::atomic<int>& flag();

 private:
  std::unique_ptr<SignalHandlers> handlers_;
};

// "SIGTERM", "SIGUSR1", ... ("signal N" for others).
std::string signal_name(int signal);

}  // namespace shardnet::dist
