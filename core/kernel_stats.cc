#include "core/kernel_stats.h"

#include <atomic>

namespace shardnet {
namespace {
std::atomic<bool> enabled{false};
}

void enable_kernel_stats(bool on) { enabled.store(on, std::memory_order_relaxed); }
bool kernel_stats_enabled() { return enabled.load(std::memory_order_relaxed); }

KernelStats& kernel_stats() {
  thread_local KernelStats stats;
  return stats;
}

}  // namespace shardnet
