#include "core/parallel.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

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

// Waits for `done` by spinning for a short while: a step issues thousands of small jobs (the
// recurrent cells' GEMMs, element-wise layers) back to back, and sleeping on a futex between each
// cost more than the jobs. Bounded, so an idle worker soon sleeps and leaves its core to others.
template <class Done>
bool spin_until(Done done) {
  constexpr auto kSpin = std::chrono::microseconds(50);  // measured: 10 us left the LSTM slower on 2 threads than on 1
  const auto deadline = std::chrono::steady_clock::now() + kSpin;
  for (int i = 1;; ++i) {
    if (done()) return true;
#if defined(__x86_64__) || defined(__i386__)
    _mm_pause();
#endif
    if (i % 64 == 0 && std::chrono::steady_clock::now() > deadline) return done();
  }
}

class Pool {
 public:
  explicit Pool(int threads) : worker_stats_(static_cast<size_t>(threads)) {  // [0]: the caller's chunk
    try {
      for (int i = 1; i < threads; ++i) workers_.emplace_back([this, i] { work(i); });
    } catch (const std::system_error& e) {
      // The destructor does not run for a half-built pool: stop and join the workers started.
      stop();
      throw std::runtime_error("cannot start compute thread " + std::to_string(workers_.size() + 1) + " of " +
                               std::to_string(threads) + ": " + e.what() + " (try fewer --threads)");
    }
  }
  ~Pool() { stop(); }
  int size() const { return static_cast<int>(workers_.size()) + 1; }

  // Returns false (and does nothing) when another caller holds the pool.
  bool run(int64_t n, const ChunkFn& fn) {
    std::unique_lock caller(busy_, std::try_to_lock);
    if (!caller.owns_lock()) return false;
    bool sleepers = false;
    {
      // Under the mutex, so a worker about to sleep either sees the new generation or is counted.
      std::lock_guard lock(mutex_);
      job_ = &fn;
      n_ = n;
      pending_.store(static_cast<int>(workers_.size()), std::memory_order_relaxed);
      generation_.fetch_add(1, std::memory_order_release);
      sleepers = sleeping_ > 0;
    }
    if (sleepers) wake_.notify_all();
    const KernelStats before = kernel_stats();
    {
      JobScope scope;
      const auto [begin, end] = chunk(0);
      try {
        fn(0, begin, end);
      } catch (...) {
        keep_first_error(std::current_exception());
      }
    }
    worker_stats_[0] = kernel_stats() - before;
    // Even when a chunk threw: the others still use fn and what it refers to.
    auto all_done = [&] { return pending_.load(std::memory_order_acquire) == 0; };
    if (!spin_until(all_done)) {
      std::unique_lock lock(mutex_);
      done_.wait(lock, all_done);
    }
    job_ = nullptr;
    if (kernel_stats_enabled()) merge_worker_stats();
    if (error_) std::rethrow_exception(std::exchange(error_, nullptr));  // on the caller, not terminate()
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
      auto woken = [&] {
        return stopping_.load(std::memory_order_acquire) || generation_.load(std::memory_order_acquire) != seen;
      };
      if (!spin_until(woken)) {
        std::unique_lock lock(mutex_);
        ++sleeping_;
        wake_.wait(lock, woken);
        --sleeping_;
      }
      if (stopping_.load(std::memory_order_acquire)) return;
      seen = generation_.load(std::memory_order_acquire);
      const auto* fn = job_;
      const auto [begin, end] = chunk(index);
      if (begin < end) {
        JobScope scope;
        const KernelStats stats_before = kernel_stats();
        try {
          (*fn)(index, begin, end);
        } catch (...) {  // an exception leaving a thread's function would end the process
          keep_first_error(std::current_exception());
        }
        worker_stats_[static_cast<size_t>(index)] = kernel_stats() - stats_before;
      }
      if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
        std::lock_guard lock(mutex_);  // the caller may be between its check and its wait
        done_.notify_one();
      }
    }
  }

  void keep_first_error(std::exception_ptr error) {
    std::lock_guard lock(error_mutex_);
    if (!error_) error_ = std::move(error);
  }

  void stop() {
    {
      std::lock_guard lock(mutex_);
      stopping_.store(true, std::memory_order_release);
    }
    wake_.notify_all();
    for (auto& t : workers_) t.join();
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
      caller.flops_saved += s.flops_saved;
      s = KernelStats{};
    }
  }

  std::vector<KernelStats> worker_stats_;  // per worker: its chunk of the last job
  std::vector<std::thread> workers_;
  std::mutex busy_;   // held by the caller whose job runs
  std::mutex mutex_;  // for sleeping and waking; job_ and n_ are published by generation_
  std::condition_variable wake_, done_;
  const ChunkFn* job_ = nullptr;
  int64_t n_ = 0;
  int sleeping_ = 0;  // workers waiting on wake_ (guarded by mutex_)
  std::atomic<int> pending_{0};
  std::atomic<uint64_t> generation_{0};
  std::atomic<bool> stopping_{false};
  std::mutex error_mutex_;
  std::exception_ptr error_;  // the first exception of the running job's chunks
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
