// dist/launcher: the mpirun line, what a restart runs, and which exit statuses are restarted.
#include "dist/launcher.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "dist/exit_status.h"

namespace shardnet::dist {
namespace {

using Line = std::vector<std::string>;

TEST(Launcher, RestartLineReplacesEveryResumeFormWithTheNewestCheckpoint) {
  const Line head = {"mpirun", "-np", "2", "shardnet", "train", "-m", "m.cfg"};
  auto with = [&](const Line& tail) {
    Line line = head;
    line.insert(line.end(), tail.begin(), tail.end());
    return line;
  };
  const Line expected = with({"--epochs", "3", "--resume"});
  EXPECT_EQ(restart_line(with({"--epochs", "3"})), expected);
  EXPECT_EQ(restart_line(with({"--resume", "--epochs", "3"})), expected);
  EXPECT_EQ(restart_line(with({"--resume=old/checkpoint-00000007.h5", "--epochs", "3"})), expected);
  EXPECT_EQ(restart_line(with({"--epochs", "3", "--resume", "old/checkpoint-00000007.h5"})), expected);
  EXPECT_EQ(restart_line(restart_line(with({"--epochs", "3"}))), expected)
      << "a second restart adds no second --resume";
}

TEST(Launcher, OnlyFailuresARestartCanMendAreRestarted) {
  EXPECT_TRUE(worth_restarting(kExitFailed));
  EXPECT_TRUE(worth_restarting(kExitStalled));
  EXPECT_TRUE(worth_restarting(128 + 9));  // a rank killed
  EXPECT_FALSE(worth_restarting(kExitOk));
  EXPECT_FALSE(worth_restarting(kExitUsage));
  EXPECT_FALSE(worth_restarting(kExitDiverged));
  EXPECT_FALSE(worth_restarting(kExitStopped));
}

TEST(Launcher, MpirunReadsNoTerminalFromItsOwnProcessGroup) {
  LaunchPlan plan;
  plan.ranks = 2;
  plan.command = {"shardnet", "train"};
  const Line line = mpirun_line(plan, 2, false);
  const auto stdin_flag = std::find(line.begin(), line.end(), "--stdin");
  ASSERT_NE(stdin_flag, line.end());
  EXPECT_EQ(*(stdin_flag + 1), "none");
}

TEST(Launcher, AJobsStatusAndTheSignalThatStoppedIt) {
  JobResult ok = run_and_wait({"sh", "-c", "exit 75"});
  EXPECT_EQ(ok.status, 75);
  EXPECT_EQ(ok.stop_signal, 0);
  EXPECT_EQ(run_and_wait({"sh", "-c", "kill -KILL $$"}).status, 128 + 9);
  EXPECT_EQ(run_and_wait({"/nonexistent/mpirun"}).status, 127);
}

}  // namespace
}  // namespace shardnet::dist
