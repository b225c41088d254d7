#include "tools/train_options.h"

#include <gtest/gtest.h>

#include <sstream>

namespace shardnet::tools {
namespace {

// Parses `args` as `shardnet train` does.
RunConfig parse(const Args& args) {
  po::options_description options("train options");
  RunConfig config;
  add_train_options(options, config);
  po::variables_map vm;
  EXPECT_TRUE(parse_options(args, "usage", options, vm));
  finish_train_options(vm, config);
  return config;
}

TEST(TrainOptions, HelpShowsTheTypedConfigsDefaults) {
  po::options_description options("train options");
  RunConfig config;
  add_train_options(options, config);
  std::ostringstream help;
  help << options;
  int checked = 0;
  for (const RunConfig::Field& f : RunConfig{}.fields()) {
    if (f.key == "model" || f.key == "data" || f.value == "default") continue;  // required, or no fixed default
    const std::string shown = " arg (=" + f.value + ")";                        // after "--key" or "-k [ --key ]"
    EXPECT_TRUE(help.str().find("--" + f.key + shown) != std::string::npos ||
                help.str().find("--" + f.key + " ]" + shown) != std::string::npos)
        << "--help does not show --" << f.key << "'s default " << f.value << ":\n"
        << help.str();
    ++checked;
  }
  EXPECT_GE(checked, 25);
}

TEST(TrainOptions, NoFlagsGiveTheDefaultConfig) {
  RunConfig expected;
  expected.model_path = "m.cfg";
  expected.data_path = "d.h5";
  EXPECT_EQ(run_config_text(parse({"-m", "m.cfg", "-d", "d.h5"})), run_config_text(expected));
}

TEST(TrainOptions, FlagsReachTheirTypedFields) {
  const RunConfig c = parse({"-m", "m", "-d", "d", "--optimizer", "nesterov", "--lr-schedule", "cosine", "--momentum",
                             "0.5", "--test", "t.h5", "--resume", "--overwrite", "--rms-decay", "0.8"});
  EXPECT_EQ(c.optimizer.kind, OptimizerKind::kNesterov);
  EXPECT_EQ(c.train.lr.kind, LrScheduleKind::kCosine);
  EXPECT_EQ(c.optimizer.momentum, 0.5f);
  EXPECT_FALSE(c.optimizer.epsilon.has_value());
  EXPECT_EQ(c.test_path, "t.h5");
  EXPECT_EQ(c.resume, "latest");
  EXPECT_TRUE(c.overwrite);
  EXPECT_FLOAT_EQ(c.optimizer.rms_decay, 0.8f);
  EXPECT_THROW(parse({"-m", "m", "-d", "d", "--optimizer", "adamw"}), std::invalid_argument);
}

TEST(TrainOptions, LookaheadFlagsReachTheConfigAndItsCheckpointText) {
  const RunConfig off = parse({"-m", "m", "-d", "d"});
  EXPECT_FALSE(off.train.lookahead.enabled());
  EXPECT_EQ(run_config_text(off).find("lookahead"), std::string::npos);  // old checkpoints still match
  const RunConfig on =
      parse({"-m", "m", "-d", "d", "--lookahead", "5", "--lookahead-alpha", "0.25", "--lookahead-ramp", "cubic"});
  EXPECT_EQ(on.train.lookahead.every, 5);
  EXPECT_FLOAT_EQ(on.train.lookahead.alpha, 0.25f);
  EXPECT_EQ(on.train.lookahead.ramp, LookaheadRamp::kCubic);
  EXPECT_NE(run_config_text(on).find("! lookahead-ramp = cubic\n"), std::string::npos);
  EXPECT_THROW(parse({"-m", "m", "-d", "d", "--lookahead-ramp", "linear"}), std::invalid_argument);
}

}  // namespace
}  // namespace shardnet::tools
