#pragma once
// The stall inspector (Horovod's is the model): catches a rank that stopped making progress while
// the others wait for it in a collective, and ends the job with a message naming it, instead of a
// hang nobody can explain.
//
// Every rank's Communicator counts the collectives it enters (dist::Progress). A heartbeat thread
// on each rank sends that count, its step and its last collective to rank 0 over UDP a few times a
// second, outside MPI (an MPI message could not pass a stuck collective). Rank 0's thread compares
// them: a rank whose count is below another's and has not moved for `warning_seconds` is reported
// by rank and host on rank 0's stderr; after `timeout_seconds` rank 0 prints why and ends the job
// (exit status kExitStalled; mpirun then ends the other ranks). A rank that sends nothing for as
// long (stopped, hung in the kernel, or its host unreachable) is reported the same way, and a rank
// that hears nothing back from rank 0 for as long ends itself, naming rank 0. The training loop
// itself does nothing but two atomic updates per collective.
#include <memory>
#include <string>
#include <string_view>

#include "dist/communicator.h"

namespace shardnet::dist {

// Every line by which the inspector ends a job or a rank starts so (warnings do not):
// `shardnet launch` watches its job's stderr for it.
inline constexpr std::string_view kStallVerdictPrefix = "shardnet: stall: ";

struct StallLimits {
  double warning_seconds = 60.0;   // 0: no warnings
  double timeout_seconds = 600.0;  // 0: never end the job
  bool enabled() const { return warning_seconds > 0.0 || timeout_seconds > 0.0; }
};

class StallInspector {
 public:
  // Collective: every rank constructs it at the same point. Does nothing for a world of one or
  // with neither limit set.
  StallInspector(const Communicator& comm, StallLimits limits);
  // Stops the thread; tells rank 0 (or, on rank 0, every rank) that this one is done, so that a
  // rank finishing first is not taken for a stalled one.
  ~StallInspector();
  StallInspector(const StallInspector&) = delete;
  StallInspector& operator=(const StallInspector&) = delete;

  // How many of this job's datagrams this rank has received (on rank 0: the ranks' heartbeats).
  uint64_t heartbeats_received() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace shardnet::dist
