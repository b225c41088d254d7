#pragma once
// The fastest of a few runs of a piece of code: what the timing-ratio tests compare (a ratio of two
// such times holds on any machine; the best run is the one least disturbed by a noisy neighbour).
#include <algorithm>
#include <chrono>
#include <functional>

namespace shardnet {

inline double best_seconds(int runs, const std::function<void()>& fn) {
  double best = 1e9;
  for (int r = 0; r < runs; ++r) {
    const auto start = std::chrono::steady_clock::now();
    fn();
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  return best;
}

}  // namespace shardnet
