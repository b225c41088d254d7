#include "core/background_task.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <thread>

namespace shardnet {
namespace {

TEST(BackgroundTask, RunsEachJobOnOneOtherThread) {
  BackgroundTask task;
  std::thread::id first, second;
  int sum = 0;
  task.start([&] {
    first = std::this_thread::get_id();
    sum += 1;
  });
  task.wait();
  task.start([&] {
    second = std::this_thread::get_id();
    sum += 2;
  });
  task.wait();
  EXPECT_EQ(sum, 3);
  EXPECT_EQ(first, second);  // the same thread, not a new one per job
  EXPECT_NE(first, std::this_thread::get_id());
}

TEST(BackgroundTask, WaitRethrowsTheJobsException) {
  BackgroundTask task;
  task.start([] { throw std::runtime_error("read failed"); });
  EXPECT_THROW(task.wait(), std::runtime_error);
  task.wait();  // reported once
  int ran = 0;
  task.start([&] { ran = 1; });
  task.wait();
  EXPECT_EQ(ran, 1);
}

TEST(BackgroundTask, StartWaitsForTheJobBefore) {
  BackgroundTask task;
  int order = 0, first_saw = -1, second_saw = -1;
  task.start([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    first_saw = order++;
  });
  task.start([&] { second_saw = order++; });
  task.wait();
  EXPECT_EQ(first_saw, 0);
  EXPECT_EQ(second_saw, 1);
}

TEST(BackgroundTask, DestructorWaitsForARunningJob) {
  bool done = false;
  {
    BackgroundTask task;
    task.start([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      done = true;
    });
  }
  EXPECT_TRUE(done);
}

}  // namespace
}  // namespace shardnet
