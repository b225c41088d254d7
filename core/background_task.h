#pragma once
// One long-lived thread that runs one job at a time in the background (the trainer's batch reads).
// Starting a thread per job, as std::async does, cost a thread creation and teardown every step.
#include <condition_variable>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>

namespace shardnet {

class BackgroundTask {
 public:
  BackgroundTask();
  ~BackgroundTask();  // waits for a job in progress
  BackgroundTask(const BackgroundTask&) = delete;
  BackgroundTask& operator=(const BackgroundTask&) = delete;

  // Runs `job` on the background thread; waits first for the previous job to finish (its
  // exception, if any, is dropped: call wait() to see it).
  void start(std::function<void()> job);
  // Returns when no job is running; rethrows the exception of the job that just finished.
  void wait();

 private:
  void run();

  std::mutex mutex_;
  std::condition_variable changed_;
  std::function<void()> job_;
  bool busy_ = false;
  bool stopping_ = false;
  std::exception_ptr error_;
  std::thread thread_;  // last: started once the members above exist
};

}  // namespace shardnet
