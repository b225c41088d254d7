#pragma once
// What one rank did when, as Chrome trace events (the "Trace Event Format" read by chrome://tracing
// and Perfetto): complete events ("ph": "X") with the rank as the process and a lane per activity,
// so that allreduce spans can be seen overlapping the backward pass that runs beside them.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

namespace shardnet {

class Timeline {
 public:
  using Clock = std::chrono::steady_clock;
  enum Lane { kCompute = 0, kCommunication = 1, kDataLoading = 2 };

  // Times are microseconds since `origin`; ranks pass an origin taken right after a barrier.
  explicit Timeline(int rank = 0, Clock::time_point origin = Clock::now()) : rank_(rank), origin_(origin) {}

  // Thread-safe: the data loader records from its own thread.
  void add(std::string name, Lane lane, Clock::time_point start, Clock::time_point end, int64_t step);
  // The same, for the step the trainer is on.
  void add(std::string name, Lane lane, Clock::time_point start, Clock::time_point end) {
    add(std::move(name), lane, start, end, step_.load(std::memory_order_relaxed));
  }
  void set_step(int64_t step) { step_.store(step, std::memory_order_relaxed); }
  int64_t step() const { return step_.load(std::memory_order_relaxed); }
  size_t size() const;
  // The events as JSON objects joined by commas (no brackets), so ranks' lists can be concatenated.
  std::string events_json() const;

  // Records [construction, destruction) as one event; does nothing for a null timeline.
  class Span {
   public:
    Span(Timeline* timeline, const char* name, Lane lane = kCompute)
        : Span(timeline, name, lane, timeline ? timeline->step() : 0) {}
    Span(Timeline* timeline, const char* name, Lane lane, int64_t step)
        : timeline_(timeline),
          name_(name),
          lane_(lane),
          step_(step),
          start_(timeline ? Clock::now() : Clock::time_point{}) {}
    ~Span() {
      if (timeline_) timeline_->add(name_, lane_, start_, Clock::now(), step_);
    }
    Span(const Span&) = delete;
    Span& operator=(const Span&) = delete;

   private:
    Timeline* timeline_;
    const char* name_;
    Lane lane_;
    int64_t step_;
    Clock::time_point start_;
  };

 private:
  struct Event {
    std::string name;
    Lane lane;
    double start_us, duration_us;
    int64_t step;
  };
  int rank_;
  Clock::time_point origin_;
  std::atomic<int64_t> step_{0};
  mutable std::mutex mutex_;
  std::vector<Event> events_;
};

// Writes one trace file from every rank's events_json(), with process and lane names; throws
// std::runtime_error naming the file when it cannot be written.
void write_chrome_trace(const std::string& path, const std::vector<std::string>& rank_events);

}  // namespace shardnet
