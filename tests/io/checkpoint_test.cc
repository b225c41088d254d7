#include "io/checkpoint.h"

#include <gtest/gtest.h>

#include "core/model_file.h"
#include "tests/io/test_files.h"

namespace shardnet::io {
namespace {

using testing::expect_error;
using testing::TempDir;

const char* kModel = "[input] shape = 1,6,6\n[conv] filters = 2 size = 3\n[relu]\n[dense] outputs = 3\n[softmax_cross_entropy]\n";

TEST(Checkpoint, RoundTripsParametersAndOptimizerState) {
  TempDir dir;
  auto net = parse_model(kModel, "m");
  net->initialize(5);
  OptimizerConfig oc;
  oc.type = "adam";
  auto opt = make_optimizer(oc);
  for (Param* p : net->params()) p->grad.fill(0.1f);
  opt->step(net->params(), 0.01f);
  save_checkpoint(dir.file("c.h5"), *net, opt.get(), CheckpointMeta{kModel, 2, 10, 110, 64, 5, 1});
  EXPECT_FALSE(std::filesystem::exists(dir.file("c.h5.tmp")));

  auto other = parse_model(kModel, "m");
  other->initialize(99);
  auto opt2 = make_optimizer(oc);
  const CheckpointMeta meta = load_checkpoint(dir.file("c.h5"), *other, opt2.get());
  EXPECT_EQ(meta.model_text, kModel);
  EXPECT_EQ(meta.epoch, 2);
  EXPECT_EQ(meta.step, 10);
  EXPECT_EQ(meta.global_step, 110);
  EXPECT_EQ(meta.global_batch, 64);
  auto a = net->params(), b = other->params();
  for (size_t i = 0; i < a.size(); ++i) {
    for (int64_t j = 0; j < a[i]->value.numel(); ++j) ASSERT_EQ(a[i]->value[j], b[i]->value[j]);
  }
  EXPECT_EQ(opt2->step_count(), 1);
  EXPECT_EQ(opt2->state().at("conv1/weight").at("m")[0], opt->state().at("conv1/weight").at("m")[0]);
}

TEST(Checkpoint, RefusesAModelThatDoesNotFit) {
  TempDir dir;
  auto net = parse_model(kModel, "m");
  net->initialize(1);
  save_checkpoint(dir.file("c.h5"), *net, nullptr, CheckpointMeta{kModel, 0, 0, 0, 64, 1, 1});
  auto wider = parse_model(
      "[input] shape = 1,6,6\n[conv] filters = 4 size = 3\n[relu]\n[dense] outputs = 3\n[softmax_cross_entropy]\n", "m");
  expect_error([&] { load_checkpoint(dir.file("c.h5"), *wider, nullptr); },
               {"c.h5", "conv1/weight", "has shape (2, 1, 3, 3), the model expects (4, 1, 3, 3)"});
  auto deeper = parse_model(
      "[input] shape = 1,6,6\n[conv] filters = 2 size = 3\n[relu]\n[dense] outputs = 5\n[relu]\n[dense] outputs = 3\n"
      "[softmax_cross_entropy]\n",
      "m");
  expect_error([&] { load_checkpoint(dir.file("c.h5"), *deeper, nullptr); }, {"c.h5"});
  auto smaller = parse_model("[input] shape = 1,6,6\n[dense] outputs = 3\n[softmax_cross_entropy]\n", "m");
  expect_error([&] { load_checkpoint(dir.file("c.h5"), *smaller, nullptr); }, {"c.h5", "dense1/weight"});
}

}  // namespace
}  // namespace shardnet::io
