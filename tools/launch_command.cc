// shardnet launch: starts a shardnet command on N ranks through mpirun, with the flags a user would
// otherwise have to remember, and returns the job's exit status.
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "dist/communicator.h"
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

std::string quote(const std::string& s) {
  if (!s.empty() && s.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_=./,:@+%") ==
                        std::string::npos) {
    return s;
  }
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// Runs argv, waits, and returns its exit status (128 + signal when killed).
int run_and_wait(const std::vector<std::string>& argv) {
  std::vector<char*> cargs;
  for (const auto& a : argv) cargs.push_back(const_cast<char*>(a.c_str()));
  cargs.push_back(nullptr);
  std::fflush(nullptr);
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    execvp(cargs[0], cargs.data());
    std::fprintf(stderr, "shardnet launch: error: cannot run %s\n", cargs[0]);
    _exit(127);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

// Threads each rank will run: the command's --threads, else OPENBLAS_NUM_THREADS, else the 1 that
// launch exports.
int threads_per_rank(const Args& command) {
  for (size_t i = 0; i < command.size(); ++i) {
    std::string value;
    if (command[i] == "--threads" && i + 1 < command.size()) value = command[i + 1];
    if (command[i].rfind("--threads=", 0) == 0) value = command[i].substr(10);
    if (!value.empty()) {
      try {
        if (const int t = std::stoi(value); t > 0) return t;
      } catch (const std::exception&) {
      }  // the command reports a malformed value itself
    }
  }
  const char* blas = std::getenv("OPENBLAS_NUM_THREADS");
  return blas != nullptr && std::atoi(blas) > 0 ? std::atoi(blas) : 1;
}

}  // namespace

int launch_command(const Args& all_args) {
  // Everything after "--" is the command to start on every rank.
  auto dashes = std::find(all_args.begin(), all_args.end(), "--");
  const Args args(all_args.begin(), dashes);
  Args command(dashes == all_args.end() ? dashes : dashes + 1, all_args.end());

  po::options_description options("launch options");
  int ranks = 1;
  std::string hostfile, hosts, bind, mpirun = "mpirun";
  std::vector<std::string> mca;
  int max_restarts = 0;
  options.add_options()
      ("np,n", po::value(&ranks)->default_value(1), "number of ranks")
      ("hostfile", po::value(&hostfile), "Open MPI hostfile (one host per line, `slots=K`)")
      ("host", po::value(&hosts), "comma-separated hosts (host:slots)")
      ("bind-to", po::value(&bind), "core | socket | none (default: core when ranks fit the cores, else none)")
      ("mca", po::value(&mca)->multitoken(), "extra `--mca KEY VALUE` pairs, given as KEY=VALUE")
      ("mpirun", po::value(&mpirun)->default_value("mpirun"), "the mpirun to use")
      ("max-restarts", po::value(&max_restarts)->default_value(0),
       "when a train job fails, start it again from its latest checkpoint, up to this many times")
      ("dry-run", "print the mpirun line and exit");
  po::variables_map vm;
  if (!parse_options(args,
                     "usage: shardnet launch -n N [--hostfile FILE] [--dry-run] -- train|test|time [options]\n"
                     "Starts the command on N ranks with mpirun (adding --allow-run-as-root as root,\n"
                     "--oversubscribe when N exceeds the cores, binding, and the thread environment).\n"
                     "Inside an existing MPI job or Slurm step it runs the command in place.",
                     options, vm)) {
    return 0;
  }
  if (command.empty()) throw UsageError("no command after `--` (e.g. -- train --model m.cfg --data d.h5)");
  if (ranks < 1) throw UsageError("-n must be at least 1");

  // Already a rank of a job (started by mpirun or srun): be that rank.
  if (dist::launched_by_mpi() || std::getenv("SLURM_PROCID") != nullptr) {
    const Args rest(command.begin() + 1, command.end());
    if (command[0] == "train") return train_command(rest);
    if (command[0] == "test") return test_command(rest);
    if (command[0] == "time") return time_command(rest);
    throw UsageError("inside a running job, launch can start train, test or time, not '" + command[0] + "'");
  }

  const bool is_subcommand = std::find(kSubcommands.begin(), kSubcommands.end(), command[0]) != kSubcommands.end();
  if (is_subcommand) command.insert(command.begin(), self_path());
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  const bool remote = !hostfile.empty() || !hosts.empty();

  std::vector<std::string> line = {mpirun, "-np", std::to_string(ranks)};
  if (geteuid() == 0) line.push_back("--allow-run-as-root");
  if (!remote && static_cast<unsigned>(ranks) > cores) line.push_back("--oversubscribe");
  // Each rank gets as many cores as it runs threads; binding a multi-threaded rank to one core would
  // put all its threads on it. Ranks x threads beyond the cores are not bound at all.
  const int threads = threads_per_rank(command);
  const bool overfull = !remote && static_cast<unsigned>(ranks) * static_cast<unsigned>(threads) > cores;
  if (bind.empty()) {
    bind = overfull ? "none" : "core";
    if (!overfull && threads > 1) line.insert(line.end(), {"--map-by", "slot:PE=" + std::to_string(threads)});
  }
  line.insert(line.end(), {"--bind-to", bind});
  if (!hostfile.empty()) line.insert(line.end(), {"--hostfile", hostfile});
  if (!hosts.empty()) line.insert(line.end(), {"--host", hosts});
  for (const auto& kv : mca) {
    const auto eq = kv.find('=');
    if (eq == std::string::npos) throw UsageError("--mca takes KEY=VALUE, got '" + kv + "'");
    line.insert(line.end(), {"--mca", kv.substr(0, eq), kv.substr(eq + 1)});
  }
  // One BLAS thread per rank unless the user chose otherwise: ranks already fill the cores.
  const char* blas = std::getenv("OPENBLAS_NUM_THREADS");
  line.insert(line.end(), {"-x", std::string("OPENBLAS_NUM_THREADS=") + (blas ? blas : "1")});
  for (const char* var : {"OMP_NUM_THREADS", "LD_LIBRARY_PATH", "PATH"}) {
    if (std::getenv(var) != nullptr) line.insert(line.end(), {"-x", var});
  }
  line.insert(line.end(), command.begin(), command.end());

  std::string text;
  for (const auto& part : line) text += (text.empty() ? "" : " ") + quote(part);
  if (vm.count("dry-run")) {
    std::printf("%s\n", text.c_str());
    return 0;
  }
  if (max_restarts < 0) throw UsageError("--max-restarts must be >= 0");
  if (max_restarts > 0 && command.size() > 1 && command[1] != "train" && is_subcommand) {
    throw UsageError("--max-restarts needs a train command (it resumes from checkpoints)");
  }
  std::fprintf(stderr, "shardnet launch: %s\n", text.c_str());
  int status = run_and_wait(line);
  for (int restart = 1; status != 0 && restart <= max_restarts; ++restart) {
    if (std::find(line.begin(), line.end(), "--resume") == line.end()) line.push_back("--resume");
    std::fprintf(stderr, "shardnet launch: the job failed with exit status %d; restart %d of %d from the latest checkpoint\n",
                 status, restart, max_restarts);
    status = run_and_wait(line);
  }
  if (status != 0) std::fprintf(stderr, "shardnet launch: the job failed with exit status %d\n", status);
  return status;
}

}  // namespace shardnet::tools
