#include "core/model_file.h"

#include <gtest/gtest.h>

#include "core/layer_registry.h"

namespace shardnet {
namespace {

// Expects parse_model to fail with a message containing every one of `parts`.
void expect_error(const std::string& text, std::initializer_list<std::string> parts) {
  try {
    parse_model(text, "m.cfg");
    FAIL() << "no error for:\n" << text;
  } catch (const ModelError& e) {
    const std::string message = e.what();
    EXPECT_EQ(message.find('\n'), std::string::npos) << "not one line: " << message;
    for (const auto& part : parts) EXPECT_NE(message.find(part), std::string::npos) << message;
  }
}

TEST(ModelFile, BuildsTheMnistCnn) {
  auto net = parse_model(R"(# comment
[input]    shape = 1,28,28
[conv]     filters = 32  size = 5  pad = 2
[relu]
[maxpool]  size = 2
[conv]
  filters = 64
  size = 5
  pad = 2      # options may follow on their own lines
[relu]
[maxpool]  size = 2
[dense]    outputs = 512
[relu]
[dense]    outputs = 10  init = xavier
[softmax_cross_entropy]
)",
                         "cnn.cfg");
  EXPECT_EQ(net->size(), 9u);
  EXPECT_EQ(net->shape_after(2), Shape({32, 14, 14}));
  EXPECT_EQ(net->shape_after(5), Shape({64, 7, 7}));
  EXPECT_EQ(net->output_shape(), Shape({10}));
  EXPECT_EQ(net->param_count(), 32 * 25 + 32 + 64 * 32 * 25 + 64 + 3136 * 512 + 512 + 512 * 10 + 10);
  EXPECT_EQ(net->layer(0).name(), "conv1");
  EXPECT_EQ(net->layer(3).name(), "conv2");
}

TEST(ModelFile, NamesTheLineOfEachError) {
  expect_error("[input] shape = 784\n[dense] outputs = 10\n[frobnicate]\n[softmax_cross_entropy]\n",
               {"m.cfg:3:", "unknown layer type [frobnicate]"});
  expect_error("[input] shape = 784\n[conv] filters = 8 size = 3\n[softmax_cross_entropy]\n",
               {"m.cfg:2:", "conv needs a (channels, height, width) input", "(784)"});
  expect_error("[input] shape = 1,4,4\n[conv] filters = 2 size = 7\n[flatten]\n[mse]\n",
               {"m.cfg:2:", "larger than the padded input"});
  expect_error("[input] shape = 1,28,28\n[conv] filters = 4 size = 3\n[softmax_cross_entropy]\n",
               {"m.cfg:3:", "softmax_cross_entropy needs a flat"});
  expect_error("[input] shape = 784\n[dense] outputs = 10 colour = red\n[mse]\n", {"m.cfg:2:", "no option 'colour'"});
  expect_error("[input] shape = 784\n[dense] outputs = ten\n[mse]\n", {"m.cfg:2:", "must be an integer"});
  expect_error("[input] shape = 784\n[dense]\n[mse]\n", {"m.cfg:2:", "needs 'outputs"});
  expect_error("[input] shape = 784\n[dense] outputs = 0\n[mse]\n",
               {"m.cfg:2:", "'outputs' must be in [1, 2147483647], got 0"});
  expect_error("[dense] outputs = 10\n[mse]\n", {"m.cfg:1:", "first section must be [input]"});
  expect_error("[input] shape = 784\n[dense] outputs = 10\n", {"m.cfg:2:", "without a loss"});
  expect_error("[input] shape = 784\n[mse]\n[dense] outputs = 3\n", {"m.cfg:2:", "must be the last"});
  expect_error("[input] shape = 784\n[dense] outputs\n[mse]\n", {"m.cfg:2:", "expected 'key = value'"});
  expect_error("[input] shape = 784\n[dense] name = a outputs = 5\n[dense] name = a outputs = 2\n[mse]\n",
               {"m.cfg:3:", "already used on line 2"});
  expect_error("", {"no sections"});
  expect_error("[input] shape = 32,8,8\n[conv] filters = 32 size = 3 pad = 1 algo = fft\n[flatten]\n[mse]\n",
               {"m.cfg:2:", "'algo' must be auto | gemm | winograd | onednn, got 'fft'"});
  expect_error("[input] shape = 32,8,8\n[conv] filters = 32 size = 5 pad = 2 algo = winograd\n[flatten]\n[mse]\n",
               {"m.cfg:2:", "algo = winograd needs size = 3, stride = 1 and pad = 1"});
}

TEST(ModelFile, SetsCaffeParameterMultipliers) {
  auto net = parse_model(R"([input] shape = 3,4,4
[conv]      filters = 2  size = 3  lr_mult = 1,2  decay_mult = 1,0.5
[batchnorm] lr_mult = 0,64
[dense]     outputs = 3  lr_mult = 0.5
[softmax_cross_entropy]
)",
                         "m.cfg");
  const std::vector<Param*> params = net->params();
  ASSERT_EQ(params.size(), 6u);  // conv weight, bias; batchnorm gamma, beta; dense weight, bias
  const float lr[] = {1, 2, 0, 64, 0.5f, 0.5f}, decay[] = {1, 0.5f, 0, 0, 1, 0};
  for (size_t i = 0; i < params.size(); ++i) {
    EXPECT_EQ(params[i]->lr_mult, lr[i]) << params[i]->name;
    EXPECT_EQ(params[i]->decay_mult, decay[i]) << params[i]->name;
  }
  expect_error("[input] shape = 3\n[dense] outputs = 2  lr_mult = 1,2,3\n[mse]\n",
               {"m.cfg:2", "'lr_mult' needs 1 or 2 values", "dense1/weight, dense1/bias", "got 3"});
  expect_error("[input] shape = 3\n[relu] lr_mult = 1\n[mse]\n", {"m.cfg:2", "[relu] has no parameters"});
  expect_error("[input] shape = 3\n[dense] outputs = 2  decay_mult = x\n[mse]\n",
               {"m.cfg:2", "numbers separated by commas"});
  expect_error("[input] shape = 3\n[dense] outputs = 2  decay_mult = -1\n[mse]\n", {"m.cfg:2", ">= 0"});
}

TEST(ModelFile, MissingFileIsReported) {
  try {
    load_model("/nonexistent/model.cfg");
    FAIL();
  } catch (const ModelError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/model.cfg"), std::string::npos);
  }
}

TEST(ModelFile, SizesThatOverflowOrCannotFitAreErrorsWithTheirLine) {
  // Once a segmentation fault in `shardnet time`: 2^62 outputs made the allocation wrap to 0 bytes.
  expect_error("[input] shape = 1\n[dense] outputs = 4611686018427387904\n[mse]\n",
               {"m.cfg:2:", "'outputs' must be in [1, 2147483647], got 4611686018427387904"});
  expect_error("[input] shape = 2147483647,2147483647,4\n[flatten]\n[mse]\n", {"m.cfg:1", "more than 2^40 elements"});
  expect_error("[input] shape = 100\n[dense] outputs = 2000000000\n[mse]\n",
               {"m.cfg:2:", "MiB, more than this machine's"});
  // Parameters, gradients, optimizer state and one sample's output together past the memory,
  // each tensor alone within it (nothing is touched before the refusal: new storage is zero pages).
  const int64_t outputs = physical_memory_bytes() / 40 + 1000;
  if (outputs <= kNoLimit) {
    expect_error("[input] shape = 1\n[dense] outputs = " + std::to_string(outputs) + "\n[mse]\n",
                 {"m.cfg:2:", "dense1 brings the model to", "more than this machine's"});
  }
}

}  // namespace
}  // namespace shardnet

namespace shardnet {
namespace {

TEST(ResolveDataSizes, TakesShapeVocabAndClassesFromTheData) {
  const DataDescription tokens{"names.h5", {20}, true, 18, {}, 83, {}};
  const std::string text =
      "[input] shape = auto  # from the data\n[embedding] vocab = auto dim = 32\n[gru] hidden = 8 return = last\n"
      "[dense] outputs = classes init = xavier\n[softmax_cross_entropy]\n";
  const std::string resolved = resolve_data_sizes(text, "names.cfg", tokens);
  EXPECT_EQ(resolved,
            "[input] shape = 20  # from the data\n[embedding] vocab = 83 dim = 32\n[gru] hidden = 8 return = last\n"
            "[dense] outputs = 18 init = xavier\n[softmax_cross_entropy]\n");
  EXPECT_EQ(parse_model(resolved, "names.cfg")->output_shape(), (Shape{18}));
  const std::string plain = "[input] shape = 4\n[dense] outputs = 3\n[mse]";
  EXPECT_EQ(resolve_data_sizes(plain, "p.cfg", tokens), plain) << "nothing to resolve: the text as it was";
  const DataDescription images{"mnist.h5", {1, 28, 28}, true, 10, {}, 0, {}};
  EXPECT_EQ(resolve_data_sizes("[input]\nshape = auto\n", "m.cfg", images), "[input]\nshape = 1,28,28\n");
  try {
    resolve_data_sizes(text, "names.cfg", images);
    FAIL() << "no error";
  } catch (const ModelError& e) {
    EXPECT_STREQ(e.what(), "names.cfg:2: vocab = auto, but the data set has no /vocab (mnist.h5)");
  }
  const DataDescription targets{"series.h5", {24, 2}, false, 0, {1}, 0, {}};
  EXPECT_THROW(resolve_data_sizes("[input] shape = auto\n[dense] outputs = classes\n[mse]\n", "s.cfg", targets),
               ModelError);
}

TEST(ResolveDataSizes, SaysWhetherAModelNeedsTheData) {
  EXPECT_TRUE(takes_sizes_from_data("[input] shape = auto\n[dense] outputs = 3\n[mse]\n"));
  EXPECT_TRUE(takes_sizes_from_data("[input] shape = 5\n[embedding] vocab = auto dim = 2\n"));
  EXPECT_TRUE(takes_sizes_from_data("[input] shape = 4\n[dense] outputs = classes\n"));
  EXPECT_FALSE(takes_sizes_from_data("[input] shape = 4\n[dense] outputs = 3\n[mse]\n"));
  EXPECT_FALSE(takes_sizes_from_data("# shape = auto in a comment\n[input] shape = 4\n"));
}

}  // namespace
}  // namespace shardnet
