#include "core/parallel.h"

#include <algorithm>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "core/float_mode.h"
#include "core/kernel_stats.h"

namespace shardnet {
namespace {

thread_local bool t_in_job = false;

// Marks the calling thread as inside a job for the scope's lifetime.
class JobScope {
 public:
  JobScope() : outer_(t_in_job) { t_in_job = true; }
  ~JobScope() { t_in_job = outer_; }
  JobScope(const JobScope&) = delete;
  JobScope& operator=(const JobScope&) = delete;

 private:
  bool outer_;
};

using ChunkFn = std::function<void(int, int64_t, int64_t)>;

class Pool {
 public:
  explicit Pool(int threads) : worker_stats_(static_cast<size_t>(threads)) {  // [0]: the caller's chunk
    for (int i = 1; i < threads; ++i) workers_.emplace_back([this, i] { work(i); });
  }
  ~Pool() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    for (auto& t : workers_) t.join();
  }
  int size() const { return static_cast<int>(workers_.size()) + 1; }

  // Returns false (and does nothing) when another caller holds the pool.
  bool run(int64_t n, const ChunkFn& fn) {
    std::unique_lock caller(busy_, std::try_to_lock);
    if (!caller.owns_lock()) return false;
    {
      std::lock_guard lock(mutex_);
      job_ = &fn;
      n_ = n;
      pending_ = static_cast<int>(workers_.size());
      ++generation_;
    }
    wake_.notify_all();
    const KernelStats before = kernel_stats();
    {
      JobScope scope;
      const auto [begin, end] = chunk(0);
      fn(0, begin, end);
    }
    worker_stats_[0] = kernel_stats() - before;
    std::unique_lock lock(mutex_);
    done_.wait(lock, [&] { return pending_ == 0; });
    job_ = nullptr;
    if (kernel_stats_enabled()) merge_worker_stats();
    return true;
  }

 private:
  std::pair<int64_t, int64_t> chunk(int index) const {
    const int64_t parts = size();
    return {n_ * index / parts, n_ * (index + 1) / parts};
  }

  void work(int index) {
    flush_denormals_on_this_thread();
    uint64_t seen = 0;
    for (;;) {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || generation_ != seen; });
      if (stopping_) return;
      seen = generation_;
      const auto* fn = job_;
      const auto [begin, end] = chunk(index);
      lock.unlock();
      if (begin < end) {
        JobScope scope;
        const KernelStats before = kernel_stats();
        (*fn)(index, begin, end);
        worker_stats_[static_cast<size_t>(index)] = kernel_stats() - before;
      }
      lock.lock();
      if (--pending_ == 0) done_.notify_one();
    }
  }

  // The kernel time of a job's chunks is counted on the caller's thread, as the job's wall time:
  // each worker's seconds divided by the pool size, since the chunks ran side by side.
  void merge_worker_stats() {
    KernelStats& caller = kernel_stats();
    const double share = 1.0 / size();
    caller = caller - worker_stats_[0];  // the caller's own chunk, counted again below like the others
    for (KernelStats& s : worker_stats_) {
      caller.gemm_seconds += s.gemm_seconds * share;
      caller.im2col_seconds += s.im2col_seconds * share;
      caller.gemm_flops += s.gemm_flops;
      s = KernelStats{};
    }
  }

  std::vector<KernelStats> worker_stats_;  // per worker: its chunk of the last job
  std::vector<std::thread> workers_;
  std::mutex busy_;   // held by the caller whose job runs
  std::mutex mutex_;  // guards everything below
  std::condition_variable wake_, done_;
  const ChunkFn* job_ = nullptr;
  int64_t n_ = 0;
  int pending_ = 0;
  uint64_t generation_ = 0;
  bool stopping_ = false;
};

std::unique_ptr<Pool>& pool() {
  static std::unique_ptr<Pool> instance;
  return instance;
}
}  // namespace

void set_compute_threads(int threads) {
  threads = std::max(threads, 1);
  if (pool() && pool()->size() == threads) return;
  pool() = threads > 1 ? std::make_unique<Pool>(threads) : nullptr;
}

int compute_threads() { return pool() ? pool()->size() : 1; }

void parallel_chunks(int64_t n, int64_t grain, const ChunkFn& fn) {
  if (n <= 0) return;
  Pool* p = pool().get();
  // Inside a job the pool is taken (by this very thread, for chunk 0): run here.
  if (p == nullptr || t_in_job || n < 2 * std::max<int64_t>(grain, 1) || !p->run(n, fn)) fn(0, 0, n);
}

void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
  parallel_chunks(n, grain, [&](int, int64_t begin, int64_t end) { fn(begin, end); });
}

bool in_parallel_job() { return t_in_job; }

}  // namespace shardnet
