#pragma once
// Starting a command on N ranks through mpirun, with the flags a user would otherwise have to
// remember (root, oversubscription, binding by threads per rank, the thread environment).
#include <string>
#include <utility>
#include <vector>

namespace shardnet::dist {

struct LaunchPlan {
  int ranks = 1;
  std::string hostfile, hosts;  // empty: this machine only
  std::string bind;             // core | socket | none; empty: core when ranks x threads fit the cores, else none
  std::vector<std::pair<std::string, std::string>> mca;  // extra --mca KEY VALUE
  std::string mpirun = "mpirun";
  std::string srun = "srun";
  std::vector<std::string> command;  // what every rank runs
};

// The mpirun argv for `plan` on a machine of `cores` cores (as root: --allow-run-as-root).
std::vector<std::string> mpirun_line(const LaunchPlan& plan, unsigned cores, bool as_root);
// Inside a Slurm allocation (a batch script: SLURM_JOB_ID without SLURM_STEP_ID): the srun line
// that starts the ranks as the job's tasks, PMIx wiring them up, with `ranks` tasks (0: the
// allocation's SLURM_NTASKS). srun passes SIGUSR1 on to the tasks, and Slurm's own SIGTERM reaches
// them directly, so no mpirun stands between Slurm and a graceful stop.
std::vector<std::string> srun_line(const LaunchPlan& plan);
// Whether this process is a batch script's (in an allocation, not a task of a step), and whether
// it is already a rank (started by mpirun, or a task of a Slurm step).
bool in_slurm_allocation();
bool already_a_rank();
// Threads each rank will run: the command's --threads, else OPENBLAS_NUM_THREADS, else 1.
int threads_per_rank(const std::vector<std::string>& command);
// argv as one shell-safe line, for printing.
std::string shell_line(const std::vector<std::string>& argv);
// Runs argv (mpirun) in its own process group, waits, and returns its exit status (128 + signal when
// killed). While it runs, SIGTERM, SIGINT, SIGUSR1 and SIGHUP to this process are passed on as
// SIGUSR1, the graceful stop that mpirun forwards to its ranks untouched (a SIGTERM it would follow
// with SIGKILL after a second); a second SIGINT is passed on as SIGTERM, which ends the job at once.
// The child gets SIGTERM should this process die first, so no job outlives its launcher. Its
// stderr is passed on and watched: once a stall verdict (kStallVerdictPrefix) has gone by, mpirun
// gets kStallGraceSeconds to end its ranks before it is killed with its process group (it waits
// for ever on a host it cannot reach); the status is then kExitStalled.
constexpr int kStallGraceSeconds = 10;
struct JobResult {
  int status = 0;
  int stop_signal = 0;  // the first stop signal this process received while the job ran (0: none)
};
JobResult run_and_wait(const std::vector<std::string>& argv);

// The train command to start again after a failure: every --resume form (--resume, --resume=F,
// --resume F) replaced by one --resume, the newest good checkpoint.
std::vector<std::string> restart_line(std::vector<std::string> line);

}  // namespace shardnet::dist
