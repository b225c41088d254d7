#pragma once
// The exit statuses of shardnet's commands, as `launch --max-restarts` and a Slurm batch script act
// on them (docs/OPERATIONS.md). The non-zero ones beside 1 and 2 follow sysexits.h.
namespace shardnet::dist {

enum ExitStatus : int {
  kExitOk = 0,
  kExitFailed = 1,     // an error on some rank, a crash, a lost rank: a restart may succeed
  kExitUsage = 2,      // bad flags or configuration: restarting cannot help
  kExitDiverged = 65,  // the loss or a parameter became NaN or infinite (EX_DATAERR): not restarted
  kExitStalled = 70,   // a rank stalled past --stall-timeout or stopped answering: restartable
  kExitStopped = 75,   // stopped by a signal after writing a checkpoint (EX_TEMPFAIL): resume it
};

// Whether `launch --max-restarts` starts a job that ended so again (a signal that killed it,
// 128 + N, counts as a crash). A requested stop is not undone: the job was asked to end.
constexpr bool worth_restarting(int status) {
  return status != kExitOk && status != kExitUsage && status != kExitDiverged && status != kExitStopped;
}

}  // namespace shardnet::dist
