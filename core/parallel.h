#pragma once
// Threads for the kernels BLAS does not cover (im2col, col2im, pooling, element-wise layers).
// The pool is sized by set_compute_threads() (the --threads flag); its workers sleep between jobs,
// so they do not take cycles from OpenBLAS's own threads while a GEMM runs.
#include <cstdint>
#include <functional>

namespace shardnet {

void set_compute_threads(int threads);
int compute_threads();

// Calls fn(begin, end) on contiguous chunks covering [0, n), one chunk per thread, and returns when
// all are done. Runs serially for small n, one thread, or when the pool is busy with another caller.
// `grain`: the least work worth a thread, in units of n.
void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);

}  // namespace shardnet
