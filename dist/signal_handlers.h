#pragma once
// One handler installed for a set of signals (SA_RESTART: interrupted system calls carry on) for
// the object's lifetime; the handlers that were there before come back when it goes.
#include <csignal>
#include <initializer_list>
#include <utility>
#include <vector>

namespace shardnet::dist {

class SignalHandlers {
 public:
  SignalHandlers(std::initializer_list<int> signals, void (*handler)(int)) {
    struct sigaction action {};
    action.sa_handler = handler;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    for (const int signal : signals) {
      previous_.emplace_back(signal, sigaction_t{});
      sigaction(signal, &action, &previous_.back().second);
    }
  }
  ~SignalHandlers() {
    for (const auto& [signal, old] : previous_) sigaction(signal, &old, nullptr);
  }
  SignalHandlers(const SignalHandlers&) = delete;
  SignalHandlers& operator=(const SignalHandlers&) = delete;

 private:
  using sigaction_t = struct sigaction;
  std::vector<std::pair<int, sigaction_t>> previous_;
};

}  // namespace shardnet::dist
