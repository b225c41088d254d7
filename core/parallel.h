#pragma once
// The compute threads: one pool does all of a step's parallel work (GEMMs split into single-threaded
// BLAS calls, convolution images, im2col, pooling, element-wise layers), so no second set of
// threads spins against it. Sized by set_compute_threads() (the --threads flag); its workers sleep
// on a condition variable between jobs.
#include <cstdint>
#include <functional>

namespace shardnet {

void set_compute_threads(int threads);
int compute_threads();

// Calls fn(begin, end) on contiguous chunks covering [0, n), one chunk per thread, and returns when
// all are done. Runs serially for small n, one thread, or when the pool is busy with another caller.
// `grain`: the least work worth a thread, in units of n.
void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);

// The same, also passing the chunk's index in [0, compute_threads()): per-chunk scratch buffers.
// A call from inside a job (nested), or while another thread holds the pool, runs serially as
// chunk 0 of its own: per-chunk buffers must belong to one caller (a layer's, say).
void parallel_chunks(int64_t n, int64_t grain, const std::function<void(int, int64_t, int64_t)>& fn);

// True on a thread that is running a chunk of a parallel job (nested parallel calls run serially).
bool in_parallel_job();

}  // namespace shardnet
