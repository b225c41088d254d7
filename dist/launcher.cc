#include "dist/launcher.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>

#include "dist/communicator.h"
#include "dist/exit_status.h"
#include "dist/signal_handlers.h"
#include "dist/stall_inspector.h"

namespace shardnet::dist {
namespace {

std::string quote(const std::string& s) {
  if (!s.empty() && s.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_=./,:@+%") ==
                        std::string::npos) {
    return s;
  }
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

}  // namespace

int threads_per_rank(const std::vector<std::string>& command) {
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

std::vector<std::string> mpirun_line(const LaunchPlan& plan, unsigned cores, bool as_root) {
  const bool remote = !plan.hostfile.empty() || !plan.hosts.empty();
  const auto ranks = static_cast<unsigned>(plan.ranks);
  std::vector<std::string> line = {plan.mpirun, "-np", std::to_string(plan.ranks)};
  if (as_root) line.emplace_back("--allow-run-as-root");
  // mpirun runs in its own process group (run_and_wait): reading a terminal from there would stop it.
  line.insert(line.end(), {"--stdin", "none"});
  if (!remote && ranks > cores) line.emplace_back("--oversubscribe");
  // Each rank gets as many cores as it runs threads; binding a multi-threaded rank to one core would
  // put all its threads on it. Ranks x threads beyond the cores are not bound at all.
  const int threads = threads_per_rank(plan.command);
  const bool overfull = !remote && ranks * static_cast<unsigned>(threads) > cores;
  std::string bind = plan.bind;
  if (bind.empty()) {
    bind = overfull ? "none" : "core";
    std::string slots = "slot:PE=";  // (not "literal" + string: GCC 12 warns falsely on it)
    slots += std::to_string(threads);
    if (!overfull && threads > 1) line.insert(line.end(), {"--map-by", slots});
  }
  line.insert(line.end(), {"--bind-to", bind});
  if (!plan.hostfile.empty()) line.insert(line.end(), {"--hostfile", plan.hostfile});
  if (!plan.hosts.empty()) line.insert(line.end(), {"--host", plan.hosts});
  for (const auto& [key, value] : plan.mca) line.insert(line.end(), {"--mca", key, value});
  // One BLAS thread per rank unless the user chose otherwise: ranks already fill the cores.
  const char* blas = std::getenv("OPENBLAS_NUM_THREADS");
  line.insert(line.end(), {"-x", std::string("OPENBLAS_NUM_THREADS=") + (blas ? blas : "1")});
  for (const char* var : {"OMP_NUM_THREADS", "LD_LIBRARY_PATH", "PATH"}) {
    if (std::getenv(var) != nullptr) line.insert(line.end(), {"-x", var});
  }
  line.insert(line.end(), plan.command.begin(), plan.command.end());
  return line;
}

bool in_slurm_allocation() { return std::getenv("SLURM_JOB_ID") != nullptr && std::getenv("SLURM_STEP_ID") == nullptr; }

bool already_a_rank() { return launched_by_mpi() || std::getenv("SLURM_STEP_ID") != nullptr; }

std::vector<std::string> srun_line(const LaunchPlan& plan) {
  std::vector<std::string> line = {plan.srun, "--mpi=pmix"};
  if (plan.ranks > 0) line.push_back("--ntasks=" + std::to_string(plan.ranks));
  const int threads = threads_per_rank(plan.command);
  line.push_back("--cpus-per-task=" + std::to_string(threads));
  const char* blas = std::getenv("OPENBLAS_NUM_THREADS");
  line.push_back(std::string("--export=ALL,OPENBLAS_NUM_THREADS=") + (blas ? blas : "1"));
  line.insert(line.end(), plan.command.begin(), plan.command.end());
  return line;
}

std::string shell_line(const std::vector<std::string>& argv) {
  std::string text;
  for (const auto& part : argv) {
    if (!text.empty()) text += ' ';
    text += quote(part);
  }
  return text;
}

namespace {

std::atomic<int> g_first_signal{0};
std::atomic<pid_t> g_child{0};

void forward_signal(int signal) {
  int none = 0;
  const bool first = g_first_signal.compare_exchange_strong(none, signal);
  const pid_t child = g_child.load();
  if (child <= 0) return;
  if (first || signal != SIGINT) {
    ::kill(child, SIGUSR1);
  } else {
    ::kill(child, SIGTERM);  // the second interrupt: mpirun ends its ranks now
  }
}

// The job's stderr, passed on as it comes and read line by line for the stall inspector's verdict.
class StderrWatch {
 public:
  explicit StderrWatch(int fd) : fd_(fd) {}
  ~StderrWatch() { ::close(fd_); }
  StderrWatch(const StderrWatch&) = delete;
  StderrWatch& operator=(const StderrWatch&) = delete;

  // Passes on what arrives within `timeout_ms` (after EOF: just waits that long).
  void pump(int timeout_ms) {
    if (closed_) {
      ::poll(nullptr, 0, timeout_ms);
      return;
    }
    pollfd waiting{fd_, POLLIN, 0};
    if (::poll(&waiting, 1, timeout_ms) <= 0) return;
    char bytes[4096];
    const ssize_t n = ::read(fd_, bytes, sizeof bytes);
    if (n <= 0) {
      closed_ = n == 0 || errno != EINTR;
      return;
    }
    for (ssize_t written = 0; written < n;) {
      const ssize_t w = ::write(STDERR_FILENO, bytes + written, static_cast<size_t>(n - written));
      if (w <= 0) break;
      written += w;
    }
    line_.append(bytes, static_cast<size_t>(n));
    for (size_t end; (end = line_.find('\n')) != std::string::npos; line_.erase(0, end + 1)) {
      if (line_.compare(0, kStallVerdictPrefix.size(), kStallVerdictPrefix) == 0) verdict_ = true;
    }
    if (line_.size() > 65536) line_.clear();  // no newline in sight: not a verdict line
  }
  bool verdict_seen() const { return verdict_; }

 private:
  int fd_;
  bool closed_ = false, verdict_ = false;
  std::string line_;
};

// `root` and every process below it (/proc), for killing a tree whose leaves may have left its
// process group (mpirun's remote-shell agents).
std::vector<pid_t> process_tree(pid_t root) {
  std::vector<std::pair<pid_t, pid_t>> parents;  // (pid, parent)
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream stat(entry.path() / "stat");
    std::string text;
    std::getline(stat, text);
    const size_t close = text.rfind(')');  // the command name may hold spaces and parentheses
    if (close == std::string::npos) continue;
    std::istringstream rest(text.substr(close + 1));
    char state = 0;
    pid_t parent = 0;
    if (rest >> state >> parent) parents.emplace_back(static_cast<pid_t>(std::stol(name)), parent);
  }
  std::vector<pid_t> tree = {root};
  for (size_t i = 0; i < tree.size(); ++i) {
    for (const auto& [pid, parent] : parents) {
      if (parent == tree[i]) tree.push_back(pid);
    }
  }
  return tree;
}

}  // namespace

JobResult run_and_wait(const std::vector<std::string>& argv) {
  std::vector<char*> cargs;
  cargs.reserve(argv.size() + 1);
  for (const auto& a : argv) cargs.push_back(const_cast<char*>(a.c_str()));
  cargs.push_back(nullptr);
  std::fflush(nullptr);
  g_first_signal = 0;
  const SignalHandlers forwarding({SIGTERM, SIGINT, SIGUSR1, SIGHUP}, forward_signal);  // for the job's lifetime
  int stderr_pipe[2];
  if (::pipe2(stderr_pipe, O_CLOEXEC) != 0) throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error(std::string("fork failed: ") + std::strerror(errno));
  if (pid == 0) {
    // Its own process group: a terminal's Ctrl-C reaches the launcher alone, which turns it into a
    // graceful stop (mpirun would kill its ranks on SIGINT).
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent) _exit(128 + SIGTERM);  // the launcher died before prctl took effect
    ::dup2(stderr_pipe[1], STDERR_FILENO);
    execvp(cargs[0], cargs.data());
    std::fprintf(stderr, "shardnet launch: error: cannot run %s: %s\n", cargs[0], std::strerror(errno));
    _exit(127);
  }
  g_child = pid;
  ::close(stderr_pipe[1]);
  StderrWatch watch(stderr_pipe[0]);
  std::optional<std::chrono::steady_clock::time_point> deadline;
  bool killed = false;
  int status = 0;
  for (;;) {
    const pid_t done = waitpid(pid, &status, WNOHANG);
    if (done == pid) break;
    if (done < 0 && errno != EINTR) {
      g_child = 0;
      throw std::runtime_error(std::string("waiting for ") + cargs[0] + ": " + std::strerror(errno));
    }
    watch.pump(200);
    // mpirun answers a rank that ended the job by ending the others through their hosts' daemons,
    // and waits for ever on a host it cannot reach: a lost host is what the verdict is often about.
    if (watch.verdict_seen() && !deadline) {
      deadline = std::chrono::steady_clock::now() + std::chrono::seconds(kStallGraceSeconds);
    }
    if (deadline && !killed && std::chrono::steady_clock::now() > *deadline) {
      std::fprintf(stderr,
                   "shardnet launch: %s did not end within %d s of the stall verdict (a host it cannot reach?): "
                   "killing it and its local processes\n",
                   cargs[0], kStallGraceSeconds);
      for (const pid_t p : process_tree(pid)) ::kill(p, SIGKILL);
      ::kill(-pid, SIGKILL);
      killed = true;
    }
  }
  g_child = 0;
  for (int drain = 0; drain < 5; ++drain) watch.pump(0);
  JobResult result{1, g_first_signal.load()};
  if (WIFEXITED(status)) result.status = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) result.status = 128 + WTERMSIG(status);
  if (killed) result.status = kExitStalled;
  return result;
}

std::vector<std::string> restart_line(std::vector<std::string> line) {
  for (size_t i = 0; i < line.size();) {
    if (line[i].rfind("--resume=", 0) == 0) {
      line.erase(line.begin() + static_cast<std::ptrdiff_t>(i));
    } else if (line[i] == "--resume") {
      const bool takes_file = i + 1 < line.size() && (line[i + 1].empty() || line[i + 1][0] != '-');
      line.erase(line.begin() + static_cast<std::ptrdiff_t>(i),
                 line.begin() + static_cast<std::ptrdiff_t>(i + (takes_file ? 2 : 1)));
    } else {
      ++i;
    }
  }
  line.emplace_back("--resume");
  return line;
}

}  // namespace shardnet::dist
