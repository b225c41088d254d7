#include "dist/launcher.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
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

int run_and_wait(const std::vector<std::string>& argv) {
  std::vector<char*> cargs;
  cargs.reserve(argv.size() + 1);
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
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

}  // namespace shardnet::dist
