#include "dist/launcher.h"

#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <stdexcept>

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

// Installs forward_signal for the job's lifetime and restores what was there.
class ForwardSignals {
 public:
  ForwardSignals() {
    struct sigaction action {};
    action.sa_handler = forward_signal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    for (size_t i = 0; i < std::size(kSignals); ++i) sigaction(kSignals[i], &action, &previous_[i]);
  }
  ~ForwardSignals() {
    for (size_t i = 0; i < std::size(kSignals); ++i) sigaction(kSignals[i], &previous_[i], nullptr);
  }
  ForwardSignals(const ForwardSignals&) = delete;
  ForwardSignals& operator=(const ForwardSignals&) = delete;

 private:
  static constexpr int kSignals[] = {SIGTERM, SIGINT, SIGUSR1, SIGHUP};
  struct sigaction previous_[std::size(kSignals)];
};

}  // namespace

JobResult run_and_wait(const std::vector<std::string>& argv) {
  std::vector<char*> cargs;
  cargs.reserve(argv.size() + 1);
  for (const auto& a : argv) cargs.push_back(const_cast<char*>(a.c_str()));
  cargs.push_back(nullptr);
  std::fflush(nullptr);
  g_first_signal = 0;
  const ForwardSignals forwarding;
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error(std::string("fork failed: ") + std::strerror(errno));
  if (pid == 0) {
    // Its own process group: a terminal's Ctrl-C reaches the launcher alone, which turns it into a
    // graceful stop (mpirun would kill its ranks on SIGINT).
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent) _exit(128 + SIGTERM);  // the launcher died before prctl took effect
    execvp(cargs[0], cargs.data());
    std::fprintf(stderr, "shardnet launch: error: cannot run %s: %s\n", cargs[0], std::strerror(errno));
    _exit(127);
  }
  g_child = pid;
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) {
      g_child = 0;
      throw std::runtime_error(std::string("waiting for ") + cargs[0] + ": " + std::strerror(errno));
    }
  }
  g_child = 0;
  JobResult result{1, g_first_signal.load()};
  if (WIFEXITED(status)) result.status = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) result.status = 128 + WTERMSIG(status);
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
