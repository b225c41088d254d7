// shardnet launch: starts a shardnet command on N ranks through mpirun, or srun in a Slurm
// allocation (dist/launcher.h), and returns the job's exit status.
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "dist/communicator.h"
#include "dist/exit_status.h"
#include "dist/launcher.h"
#include "dist/stop_signals.h"
#include "tools/commands.h"
#include "tools/options.h"

namespace shardnet::tools {
namespace {

const std::vector<std::string> kSubcommands = {"train", "test", "time"};

std::string self_path() {
  char buf[PATH_MAX];
  const ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) throw std::runtime_error("cannot find the shardnet executable (/proc/self/exe)");
  return std::string(buf, static_cast<size_t>(n));
}

struct LaunchFlags {
  dist::LaunchPlan plan;
  int max_restarts = 0;
  bool dry_run = false;
  bool ranks_given = false;
};

// Returns false after printing --help.
bool parse_launch_flags(const Args& all_args, LaunchFlags& flags) {
  // Everything after "--" is the command to start on every rank.
  auto dashes = std::find(all_args.begin(), all_args.end(), "--");
  const Args args(all_args.begin(), dashes);
  flags.plan.command.assign(dashes == all_args.end() ? dashes : dashes + 1, all_args.end());
  dist::LaunchPlan& p = flags.plan;
  std::vector<std::string> mca;
  po::options_description options("launch options");
  // clang-format off
  options.add_options()
      ("np,n", po::value(&p.ranks)->default_value(p.ranks), "number of ranks")
      ("hostfile", po::value(&p.hostfile), "Open MPI hostfile (one host per line, `slots=K`)")
      ("host", po::value(&p.hosts), "comma-separated hosts (host:slots)")
      ("bind-to", po::value(&p.bind), "core | socket | none (default: core when ranks fit the cores, else none)")
      ("mca", po::value(&mca)->multitoken(), "extra `--mca KEY VALUE` pairs, given as KEY=VALUE")
      ("mpirun", po::value(&p.mpirun)->default_value(p.mpirun), "the mpirun to use")
      ("max-restarts", po::value(&flags.max_restarts)->default_value(flags.max_restarts),
       "when a train job fails, start it again from its latest checkpoint, up to this many times")
      ("dry-run", "print the mpirun line and exit");
  // clang-format on
  po::variables_map vm;
  if (!parse_options(args,
                     "usage: shardnet launch -n N [--hostfile FILE] [--dry-run] -- train|test|time [options]\n"
                     "Starts the command on N ranks with mpirun (adding --allow-run-as-root as root,\n"
                     "--oversubscribe when N exceeds the cores, binding, and the thread environment).\n"
                     "In a Slurm batch script it starts the allocation's tasks with srun (-n: all of\n"
                     "them unless given); inside an MPI job or a Slurm step it runs the command in place.",
                     options, vm)) {
    return false;
  }
  if (p.command.empty()) throw UsageError("no command after `--` (e.g. -- train --model m.cfg --data d.h5)");
  if (p.ranks < 1) throw UsageError("-n must be at least 1");
  if (flags.max_restarts < 0) throw UsageError("--max-restarts must be >= 0");
  for (const auto& kv : mca) {
    const auto eq = kv.find('=');
    if (eq == std::string::npos) throw UsageError("--mca takes KEY=VALUE, got '" + kv + "'");
    p.mca.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
  }
  flags.dry_run = vm.count("dry-run") > 0;
  flags.ranks_given = !vm["np"].defaulted();
  return true;
}

// Already a rank of a job (started by mpirun or srun): be that rank.
int run_in_place(const Args& command) {
  const Args rest(command.begin() + 1, command.end());
  if (command[0] == "train") return train_command(rest);
  if (command[0] == "test") return test_command(rest);
  if (command[0] == "time") return time_command(rest);
  throw UsageError("inside a running job, launch can start train, test or time, not '" + command[0] + "'");
}

// Runs the job; one that failed in a way a restart can mend (dist::worth_restarting) again from its
// newest checkpoint, up to `max_restarts` times. A job stopped by a signal is not restarted.
int run_with_restarts(const std::vector<std::string>& line, int max_restarts) {
  std::fprintf(stderr, "shardnet launch: %s\n", dist::shell_line(line).c_str());
  dist::JobResult job = dist::run_and_wait(line);
  for (int restart = 1; restart <= max_restarts && job.stop_signal == 0 && dist::worth_restarting(job.status);
       ++restart) {
    std::fprintf(stderr,
                 "shardnet launch: the job failed with exit status %d; restart %d of %d from the latest checkpoint\n",
                 job.status, restart, max_restarts);
    job = dist::run_and_wait(dist::restart_line(line));
  }
  if (job.stop_signal != 0) {
    std::fprintf(stderr, "shardnet launch: %s: the job was asked to stop; it ended with exit status %d\n",
                 dist::signal_name(job.stop_signal).c_str(), job.status);
  } else if (job.status != 0) {
    std::fprintf(
        stderr, "shardnet launch: the job failed with exit status %d%s\n", job.status,
        max_restarts > 0 && !dist::worth_restarting(job.status) ? " (not restarted: a restart cannot help)" : "");
  }
  return job.status;
}

}  // namespace

int launch_command(const Args& all_args) {
  LaunchFlags flags;
  if (!parse_launch_flags(all_args, flags)) return 0;
  Args& command = flags.plan.command;
  if (dist::already_a_rank()) return run_in_place(command);
  const bool is_subcommand = std::find(kSubcommands.begin(), kSubcommands.end(), command[0]) != kSubcommands.end();
  if (flags.max_restarts > 0 && is_subcommand && command[0] != "train") {
    throw UsageError("--max-restarts needs a train command (it resumes from checkpoints)");
  }
  if (is_subcommand) command.insert(command.begin(), self_path());
  dist::LaunchPlan& plan = flags.plan;
  const bool by_slurm = dist::in_slurm_allocation() && plan.hostfile.empty() && plan.hosts.empty();
  if (by_slurm && !flags.ranks_given) plan.ranks = 0;  // the allocation's tasks
  const auto line = by_slurm
                        ? dist::srun_line(plan)
                        : dist::mpirun_line(plan, std::max(1u, std::thread::hardware_concurrency()), geteuid() == 0);
  if (flags.dry_run) {
    std::printf("%s\n", dist::shell_line(line).c_str());
    return 0;
  }
  return run_with_restarts(line, flags.max_restarts);
}

}  // namespace shardnet::tools
