#pragma once
// Time and work spent in the compute kernels (GEMM, im2col/col2im), counted per thread when
// enabled, so that `shardnet time` and the trainer can say what share of a step each one takes.
// Off by default: a disabled counter costs one branch per kernel call.
#include <chrono>

namespace shardnet {

struct KernelStats {
  double gemm_seconds = 0.0;
  double gemm_flops = 0.0;      // 2*m*n*k per call
  double im2col_seconds = 0.0;  // im2col and col2im
  // FLOPs the im2col GEMM would have done that a faster algorithm (Winograd) did not: the
  // nominal work of a step is gemm_flops + flops_saved.
  double flops_saved = 0.0;
  KernelStats operator-(const KernelStats& o) const {
    return {gemm_seconds - o.gemm_seconds, gemm_flops - o.gemm_flops, im2col_seconds - o.im2col_seconds,
            flops_saved - o.flops_saved};
  }
};

void enable_kernel_stats(bool on);
bool kernel_stats_enabled();
// This thread's totals since it started.
KernelStats& kernel_stats();

// Adds the lifetime of the scope to `seconds` when counting is enabled.
class KernelTimer {
 public:
  explicit KernelTimer(double KernelStats::*field) : field_(kernel_stats_enabled() ? field : nullptr) {
    if (field_) start_ = std::chrono::steady_clock::now();
  }
  ~KernelTimer() {
    if (field_)
      kernel_stats().*field_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }
  KernelTimer(const KernelTimer&) = delete;
  KernelTimer& operator=(const KernelTimer&) = delete;

 private:
  double KernelStats::*field_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace shardnet
