#include "core/run_config.h"

#include <gtest/gtest.h>

namespace shardnet {
namespace {

RunConfig valid() {
  RunConfig c;
  c.model_path = "m.cfg";
  c.data_path = "d.h5";
  return c;
}

void expect_invalid(const RunConfig& c, const std::string& part) {
  try {
    c.validate();
    FAIL() << "accepted; expected an error containing " << part;
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
  }
}

TEST(RunConfig, ValidatesEachFieldByName) {
  EXPECT_NO_THROW(valid().validate());
  RunConfig c = valid();
  c.train.global_batch = 0;
  expect_invalid(c, "batch must be positive");
  c = valid();
  c.patience = 2;
  expect_invalid(c, "patience needs a validation split");
  c = valid();
  c.optimizer.momentum = 1.0f;
  expect_invalid(c, "momentum must be in [0, 1)");
  c = valid();
  c.train.lr.kind = LrScheduleKind::kStep;
  c.train.lr.step_epochs = 0.0f;
  expect_invalid(c, "lr-step must be positive");
  c = valid();
  c.bucket_mb = 0.0;
  expect_invalid(c, "bucket-mb must be positive");
}

TEST(RunConfig, TextRoundTripsAndNumbersAreExact) {
  RunConfig c = valid();
  c.train.lr.base = 0.0012345678f;
  const auto fields = parse_run_config_text(run_config_text(c));
  EXPECT_EQ(fields.at("! lr"), "0.0012345678");  // the shortest text that reads back as the same float
  EXPECT_EQ(fields.at("! optimizer"), "sgd");
  EXPECT_EQ(fields.at("! momentum"), "default");
  EXPECT_EQ(fields.at("epochs"), "1");
}

TEST(RunConfig, ResumeComparesWhatTheRunComputesOnly) {
  RunConfig a = valid(), b = valid();
  b.train.epochs = 10;  // how long, where and how fast may change
  b.run_dir = "elsewhere";
  b.threads = 2;
  b.data_path = "moved.h5";
  EXPECT_TRUE(resume_conflicts(run_config_text(a), run_config_text(b)).empty());
  b.train.seed = 7;
  b.optimizer.kind = OptimizerKind::kAdam;
  b.optimizer.epsilon = 1e-6f;
  const auto conflicts = resume_conflicts(run_config_text(a), run_config_text(b));
  ASSERT_EQ(conflicts.size(), 3u);
  EXPECT_EQ(conflicts[0], "epsilon: default in the checkpoint, 1e-06 now");
  EXPECT_EQ(conflicts[1], "optimizer: sgd in the checkpoint, adam now");
  EXPECT_EQ(conflicts[2], "seed: 1 in the checkpoint, 7 now");
  // Content fields given beside the config are compared the same way.
  EXPECT_EQ(resume_conflicts(run_config_text(a, {{"training data", "10 x (3)", false}}),
                             run_config_text(a, {{"training data", "12 x (3)", false}})),
            std::vector<std::string>{"training data: 10 x (3) in the checkpoint, 12 x (3) now"});
}

// fp32 runs' checkpoints (all of them before --precision) carry no precision field; bf16 ones do,
// and a resume cannot switch it.
TEST(RunConfig, PrecisionIsRecordedWhenBf16AndKeptOnResume) {
  RunConfig fp32 = valid(), bf16 = valid();
  bf16.train.precision = Precision::kBf16;
  EXPECT_EQ(run_config_text(fp32).find("precision"), std::string::npos);
  EXPECT_NE(run_config_text(bf16).find("! precision = bf16\n"), std::string::npos);
  EXPECT_EQ(resume_conflicts(run_config_text(bf16), run_config_text(fp32)),
            std::vector<std::string>{"precision: bf16 in the checkpoint, absent now"});
  EXPECT_TRUE(resume_conflicts(run_config_text(bf16), run_config_text(bf16)).empty());
}

}  // namespace
}  // namespace shardnet
