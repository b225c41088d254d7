#include "io/checkpoint.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <csignal>
#include <functional>

#include "core/model_file.h"
#include "core/random.h"
#include "io/hdf5.h"
#include "tests/io/test_files.h"

namespace shardnet::io {
namespace {

using testing::expect_error;
using testing::TempDir;

const char* kModel =
    "[input] shape = 1,6,6\n[conv] filters = 2 size = 3\n[relu]\n[dense] outputs = 3\n[softmax_cross_entropy]\n";

OptimizerConfig adam() {
  OptimizerConfig oc;
  oc.kind = OptimizerKind::kAdam;
  return oc;
}

// Adam after one step on `net`: every slot exists.
std::unique_ptr<Optimizer> stepped_adam(Net& net) {
  auto opt = make_optimizer(adam());
  for (Param* p : net.params()) p->grad.fill(0.1f);
  opt->step(net.params(), 0.01f);
  return opt;
}

TEST(Checkpoint, RoundTripsParametersAndOptimizerState) {
  TempDir dir;
  auto net = parse_model(kModel, "m");
  net->initialize(5);
  auto opt = stepped_adam(*net);
  save_checkpoint(dir.file("c.h5"), *net, opt.get(), CheckpointMeta{kModel, 2, 10, 110, 64, 5, 1, "! seed = 5\n", {}});
  EXPECT_FALSE(std::filesystem::exists(dir.file("c.h5.tmp")));

  auto other = parse_model(kModel, "m");
  other->initialize(99);
  auto opt2 = make_optimizer(adam());
  const CheckpointMeta meta = load_checkpoint(dir.file("c.h5"), *other, opt2.get());
  EXPECT_EQ(meta.model_text, kModel);
  EXPECT_EQ(meta.epoch, 2);
  EXPECT_EQ(meta.step, 10);
  EXPECT_EQ(meta.global_step, 110);
  EXPECT_EQ(meta.global_batch, 64);
  EXPECT_EQ(meta.run_config, "! seed = 5\n");
  auto a = net->params(), b = other->params();
  for (size_t i = 0; i < a.size(); ++i) {
    for (int64_t j = 0; j < a[i]->value.numel(); ++j) ASSERT_EQ(a[i]->value[j], b[i]->value[j]);
  }
  EXPECT_EQ(opt2->step_count(), 1);
  EXPECT_EQ(opt2->state().at("conv1/weight").at("m")[0], opt->state().at("conv1/weight").at("m")[0]);
}

TEST(Checkpoint, RoundTripsBatchNormRunningStatistics) {
  TempDir dir;
  const char* model = "[input] shape = 4\n[batchnorm]\n[dense] outputs = 2\n[softmax_cross_entropy]\n";
  auto net = parse_model(model, "m");
  net->initialize(1);
  for (Buffer* b : net->buffers()) b->value.fill(0.25f);
  save_checkpoint(dir.file("bn.h5"), *net, nullptr, CheckpointMeta{model, 0, 0, 0, 8, 1, 1, "", {}});
  auto other = parse_model(model, "m");
  load_checkpoint(dir.file("bn.h5"), *other, nullptr);
  ASSERT_EQ(other->buffers().size(), 2u);
  for (Buffer* b : other->buffers()) EXPECT_EQ(b->value[3], 0.25f) << b->name;
}

TEST(Checkpoint, SetHoldsSeveralNetsWithTheirOptimizers) {
  TempDir dir;
  const char* bn_model = "[input] shape = 4\n[batchnorm]\n[dense] outputs = 1\n[mse]\n";
  auto generator = parse_model(kModel, "g");
  auto critic = parse_model(bn_model, "d");
  generator->initialize(1);
  critic->initialize(2);
  for (Buffer* b : critic->buffers()) b->value.fill(0.5f);
  auto g_opt = stepped_adam(*generator);
  auto d_opt = stepped_adam(*critic);
  d_opt->step(critic->params(), 0.01f);  // two steps: the set keeps each optimizer's own count
  const std::string path = dir.file("set.h5");
  save_checkpoint_set(path, {{"generator", *generator, g_opt.get(), kModel}, {"critic", *critic, d_opt.get(), ""}},
                      CheckpointMeta{"", 3, 0, 300, 64, 7, 2, "", {}});
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));

  auto g2 = parse_model(kModel, "g");
  auto d2 = parse_model(bn_model, "d");
  auto g2_opt = make_optimizer(adam()), d2_opt = make_optimizer(adam());
  const CheckpointMeta meta =
      load_checkpoint_set(path, {{"generator", *g2, g2_opt.get(), ""}, {"critic", *d2, d2_opt.get(), ""}});
  EXPECT_EQ(meta.global_step, 300);
  EXPECT_EQ(meta.world_size, 2);
  EXPECT_EQ(g2->params()[0]->value[3], generator->params()[0]->value[3]);
  EXPECT_EQ(d2->params().back()->value[0], critic->params().back()->value[0]);
  EXPECT_EQ(d2->buffers()[0]->value[1], 0.5f);
  EXPECT_EQ(g2_opt->step_count(), 1);
  EXPECT_EQ(d2_opt->step_count(), 2);
  EXPECT_EQ(d2_opt->state().at("batchnorm1/gamma").at("v")[0], d_opt->state().at("batchnorm1/gamma").at("v")[0]);

  // A subset loads alone (a sampler needs only the generator); a missing net or a mismatch is named.
  auto g3 = parse_model(kModel, "g");
  EXPECT_NO_THROW(load_checkpoint_set(path, {{"generator", *g3, nullptr, ""}}));
  expect_error([&] { load_checkpoint_set(path, {{"target", *g3, nullptr, ""}}); }, {"set.h5", "no net 'target'"});
  expect_error([&] { load_checkpoint_set(path, {{"critic", *g3, nullptr, ""}}); }, {"set.h5", "net critic"});
  // A set is not a single checkpoint, nor the other way round.
  expect_error([&] { load_checkpoint(path, *g3, nullptr); }, {"not a shardnet checkpoint"});
  save_checkpoint(dir.file("one.h5"), *g3, nullptr, CheckpointMeta{kModel, 0, 0, 0, 8, 1, 1, "", {}});
  expect_error(
      [&] {
        load_checkpoint_set(dir.file("one.h5"), {{"generator", *g3, nullptr, ""}});
      },
      {"not a checkpoint set"});
  EXPECT_THROW(save_checkpoint_set(path, {{"a", *g3, nullptr, ""}, {"a", *g2, nullptr, ""}}, {}),
               std::invalid_argument);
}

TEST(Checkpoint, RefusesAModelThatDoesNotFit) {
  TempDir dir;
  auto net = parse_model(kModel, "m");
  net->initialize(1);
  save_checkpoint(dir.file("c.h5"), *net, nullptr, CheckpointMeta{kModel, 0, 0, 0, 64, 1, 1, "", {}});
  auto wider = parse_model(
      "[input] shape = 1,6,6\n[conv] filters = 4 size = 3\n[relu]\n[dense] outputs = 3\n[softmax_cross_entropy]\n",
      "m");
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

// A checkpoint of kModel with Adam's state, then changed in place by `tamper(root)`.
std::string tampered_checkpoint(const TempDir& dir, const std::string& name, const std::function<void(hid_t)>& tamper) {
  auto net = parse_model(kModel, "m");
  net->initialize(5);
  auto opt = stepped_adam(*net);
  std::string path = dir.file(name);
  save_checkpoint(path, *net, opt.get(), CheckpointMeta{kModel, 1, 2, 3, 64, 5, 1, "", {}});
  H5Id file = open_file(path, true);
  tamper(file.get());
  return path;
}

void replace_int_attribute(hid_t root, const char* name, int64_t value) {
  H5Adelete(root, name);
  write_int_attribute(root, name, value);
}

TEST(Checkpoint, CompareCountsNanAsAnInfiniteDifference) {
  TempDir dir;
  auto net = parse_model(kModel, "m");
  net->initialize(5);
  save_checkpoint(dir.file("a.h5"), *net, nullptr, CheckpointMeta{kModel, 0, 0, 0, 64, 1, 1, "", {}});
  EXPECT_TRUE(compare_checkpoints(dir.file("a.h5"), dir.file("a.h5")).identical);
  net->params()[0]->value[3] = std::nanf("");  // once reported as 0 difference
  save_checkpoint(dir.file("b.h5"), *net, nullptr, CheckpointMeta{kModel, 0, 0, 0, 64, 1, 1, "", {}});
  const CheckpointDifference d = compare_checkpoints(dir.file("a.h5"), dir.file("b.h5"));
  EXPECT_FALSE(d.identical);
  EXPECT_TRUE(std::isinf(d.parameters_relative)) << d.parameters_relative;
  EXPECT_TRUE(compare_checkpoints(dir.file("b.h5"), dir.file("b.h5")).identical);
}

TEST(Checkpoint, RefusesOptimizerStateOrPositionsThatCannotBeRight) {
  TempDir dir;
  auto load = [&](const std::string& path) {
    auto net = parse_model(kModel, "m");
    auto opt = make_optimizer(adam());
    load_checkpoint(path, *net, opt.get());
  };
  // Once loaded and then written past by the update: a momentum slot of shape (1,).
  const auto small_slot = tampered_checkpoint(dir, "slot.h5", [](hid_t root) {
    H5Ldelete(root, "/optimizer/conv1/weight/m", H5P_DEFAULT);
    const float one = 0.0f;
    write_float_dataset(root, "/optimizer/conv1/weight/m", {1}, &one);
  });
  expect_error([&] { load(small_slot); },
               {"slot.h5", "/optimizer/conv1/weight/m has shape (1), its parameter (2, 1, 3, 3)"});
  const auto stray = tampered_checkpoint(dir, "stray.h5", [](hid_t root) {
    const float one = 0.0f;
    write_float_dataset(root, "/optimizer/nothing/m", {1}, &one);
  });
  expect_error([&] { load(stray); }, {"stray.h5", "/optimizer/nothing/m belongs to no parameter"});
  const auto step = tampered_checkpoint(dir, "step.h5", [](hid_t root) { replace_int_attribute(root, "step", -1); });
  expect_error([&] { load(step); }, {"step.h5", "position epoch 1, step -1, global_step 3 is negative"});
  const auto ranks =
      tampered_checkpoint(dir, "ranks.h5", [](hid_t root) { replace_int_attribute(root, "world_size", 0); });
  expect_error([&] { read_checkpoint_meta(ranks); }, {"ranks.h5", "world_size 0 is below 1"});
  // Found by tests/fuzz/checkpoint_fuzz: a list where one integer belongs was read past its one value.
  const auto list = tampered_checkpoint(dir, "list.h5", [](hid_t root) {
    H5Adelete(root, "epoch");
    write_float_list_attribute(root, "epoch", {1.0, 2.0});
  });
  expect_error([&] { read_checkpoint_meta(list); }, {"list.h5", "attribute 'epoch' is not one integer (2 value(s))"});
}

}  // namespace
}  // namespace shardnet::io

namespace shardnet::io {
namespace {

// A writer killed (SIGKILL) at random moments while it saves checkpoints over and over under one
// name: whatever moment it dies, the file under the real name is a complete checkpoint.
TEST(Checkpoint, SurvivesAWriterKilledMidWrite) {
  TempDir dir;
  const std::string path = dir.file("c.h5");
  const char* big =
      "[input] shape = 1,28,28\n[dense] outputs = 512\n[relu]\n[dense] outputs = 10\n[softmax_cross_entropy]\n";
  CounterRng rng(4);
  int loadable = 0;
  for (int round = 0; round < 12; ++round) {
    const pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      auto net = parse_model(big, "m");
      for (int version = 0;; ++version) {
        for (Param* p : net->params()) p->value.fill(static_cast<float>(version));
        save_checkpoint(path, *net, nullptr, CheckpointMeta{big, version, 0, version, 64, 1, 1, "", {}});
      }
    }
    usleep(static_cast<useconds_t>(20000 + rng.below(60000)));
    kill(child, SIGKILL);
    int status = 0;
    waitpid(child, &status, 0);
    if (!std::filesystem::exists(path)) continue;  // killed before the first rename
    auto net = parse_model(big, "m");
    const CheckpointMeta meta = load_checkpoint(path, *net, nullptr);  // throws if half-written
    for (Param* p : net->params()) {
      for (float v : p->value.span()) ASSERT_EQ(v, static_cast<float>(meta.epoch)) << "mixed versions";
    }
    ++loadable;
  }
  EXPECT_GT(loadable, 6);
}

}  // namespace
}  // namespace shardnet::io
