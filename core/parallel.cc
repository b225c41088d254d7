#include "core/parallel.h"

#include <algorithm>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "core/float_mode.h"

namespace shardnet {
namespace {

class Pool {
 public:
  explicit Pool(int threads) {
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
  bool run(int64_t n, const std::function<void(int64_t, int64_t)>& fn) {
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
    const auto [begin, end] = chunk(0);
    fn(begin, end);
    std::unique_lock lock(mutex_);
    done_.wait(lock, [&] { return pending_ == 0; });
    job_ = nullptr;
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
      if (begin < end) (*fn)(begin, end);
      lock.lock();
      if (--pending_ == 0) done_.notify_one();
    }
  }

  std::vector<std::thread> workers_;
  std::mutex busy_;   // held by the caller whose job runs
  std::mutex mutex_;  // guards everything below
  std::condition_variable wake_, done_;
  const std::function<void(int64_t, int64_t)>* job_ = nullptr;
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

void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  Pool* p = pool().get();
  if (p == nullptr || n < 2 * std::max<int64_t>(grain, 1) || !p->run(n, fn)) fn(0, n);
}

}  // namespace shardnet
