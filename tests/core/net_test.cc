#include "core/net.h"

#include <gtest/gtest.h>

#include "core/model_file.h"
#include "tests/gradient_checker.h"

namespace shardnet {
namespace {

DataDescription images(Shape shape, int64_t classes = 10) {
  return DataDescription{"d.h5", std::move(shape), true, classes, {}, 0, {}};
}

std::string check_error(Net& net, const DataDescription& data) {
  try {
    net.check_data(data, "m.cfg");
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "";
}

TEST(Net, DataMustHaveTheInputShapeUpToSizeOneDimensions) {
  auto cnn = parse_model(
      "[input] shape = 3,32,32\n[conv] filters = 4\n[flatten]\n[dense] outputs = 10\n"
      "[softmax_cross_entropy]\n",
      "m.cfg");
  EXPECT_EQ(check_error(*cnn, images({3, 32, 32})), "");
  EXPECT_EQ(check_error(*cnn, images({1, 3, 32, 32})), "");
  // Channels last has the same number of values and was once accepted.
  EXPECT_EQ(check_error(*cnn, images({32, 32, 3})),
            "d.h5: /data rows have shape (32, 32, 3) but the model's [input] is (3, 32, 32) (model m.cfg)");
  auto rows = parse_model(
      "[input] shape = 28,28\n[lstm] hidden = 4 return = last\n[dense] outputs = 10\n"
      "[softmax_cross_entropy]\n",
      "m.cfg");
  EXPECT_EQ(check_error(*rows, images({1, 28, 28})), "") << "MNIST images row by row (examples/sequences)";
  EXPECT_NE(check_error(*rows, images({784})), "");
}

TEST(Net, LabelsMustSuitTheLoss) {
  auto net = parse_model("[input] shape = 4\n[dense] outputs = 3\n[softmax_cross_entropy]\n", "m.cfg");
  EXPECT_EQ(check_error(*net, images({4}, 3)), "");
  EXPECT_EQ(check_error(*net, images({4}, 5)), "d.h5: has 5 classes but the model outputs 3 (model m.cfg)");
  DataDescription targets{"d.h5", {4}, false, 0, {3}, 0, {}};
  EXPECT_NE(check_error(*net, targets).find("needs int32 class ids"), std::string::npos);
  auto mse = parse_model("[input] shape = 4\n[dense] outputs = 3\n[mse]\n", "m.cfg");
  EXPECT_EQ(check_error(*mse, targets), "");
  EXPECT_NE(check_error(*mse, images({4}, 3)).find("needs float targets"), std::string::npos);
}

TEST(Net, MoveParametersTowardCopiesOrAveragesByName) {
  const char* text = "[input] shape = 3\n[dense] outputs = 2\n[batchnorm]\n[mse]\n";
  auto online = parse_model(text, "m.cfg");
  auto target = parse_model(text, "m.cfg");
  online->initialize(1);
  target->initialize(2);
  const std::vector<Param*> from = online->params(), to = target->params();
  ASSERT_NE(from[0]->value[0], to[0]->value[0]);
  const float before = to[0]->value[0], source = from[0]->value[0];
  move_parameters_toward(*target, *online, 0.25f);
  EXPECT_FLOAT_EQ(to[0]->value[0], before + 0.25f * (source - before));
  online->buffers()[0]->value[1] = 7.0f;  // running statistics move too
  move_parameters_toward(*target, *online);
  for (size_t i = 0; i < from.size(); ++i) {
    for (int64_t j = 0; j < from[i]->value.numel(); ++j) EXPECT_EQ(to[i]->value[j], from[i]->value[j]);
  }
  EXPECT_EQ(target->buffers()[0]->value[1], 7.0f);
  auto other = parse_model("[input] shape = 3\n[dense] outputs = 4\n[batchnorm]\n[mse]\n", "m.cfg");
  EXPECT_THROW(move_parameters_toward(*other, *online), std::invalid_argument);
  EXPECT_THROW(move_parameters_toward(*target, *online, 0.0f), std::invalid_argument);
}

// Runs `model` forward and back on x and returns its output, every parameter gradient and dL/dx,
// with the fusions (keep_outputs false) or every layer on its own.
std::vector<Tensor> forward_backward(const std::string& model, const Tensor& x, Mode mode, bool keep_outputs) {
  auto net = parse_model(model, "m.cfg");
  net->initialize(3);
  net->keep_outputs(keep_outputs);
  if (mode == Mode::kEval) net->forward(x, Mode::kTrain);  // running statistics other than the initial ones
  const Tensor out = net->forward(x, mode);
  Tensor d_input;
  net->backward_from(testing::random_tensor(out.shape(), 4), &d_input);
  std::vector<Tensor> results{out, d_input};
  for (const Param* p : net->params()) results.push_back(p->grad);
  return results;
}

// Bit for bit: running the ReLU after the pool must not change even a rounding.
void expect_same_bits(const std::vector<Tensor>& a, const std::vector<Tensor>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t t = 0; t < a.size(); ++t) {
    ASSERT_EQ(a[t].shape(), b[t].shape()) << "result " << t;
    for (int64_t i = 0; i < a[t].numel(); ++i) ASSERT_EQ(a[t][i], b[t][i]) << "result " << t << " at " << i;
  }
}

// Inputs in [-1, 0.5): most 2x2 windows of the first ReLU's pool hold negatives, many only
// negatives, where the pool picks another element before the ReLU than after it.
TEST(Net, FusedLayersGiveTheSameBits) {
  const Tensor x = testing::random_tensor({3, 2, 9, 8}, 5, -1.0f, 0.5f);
  for (const char* model : {
           "[input] shape = 2,9,8\n[relu]\n[maxpool] size = 2\n[conv] filters = 3 size = 3 pad = 1\n[relu]\n"
           "[maxpool] size = 3 stride = 2 pad = 1\n[flatten]\n[dense] outputs = 4\n[mse]\n",
           "[input] shape = 2,9,8\n[conv] filters = 4 size = 3 pad = 1\n[batchnorm]\n[relu]\n[maxpool] name = p\n"
           "[maxunpool] pool = p\n[conv] filters = 2 size = 3 pad = 1\n[flatten]\n[mse]\n",
           // batchnorm with the activation after it, also after a fused pool and in a flat net
           "[input] shape = 2,9,8\n[batchnorm]\n[gelu]\n[conv] filters = 3 size = 3 pad = 1\n[relu]\n[maxpool]\n"
           "[batchnorm]\n[sigmoid]\n[flatten]\n[dense] outputs = 5\n[batchnorm]\n[tanh]\n[dense] outputs = 2\n"
           "[batchnorm]\n[relu]\n[mse]\n",
       }) {
    SCOPED_TRACE(model);
    for (const Mode mode : {Mode::kTrain, Mode::kEval}) {
      expect_same_bits(forward_backward(model, x, mode, false), forward_backward(model, x, mode, true));
    }
  }
}

TEST(Net, ReadingTheOutputOfAReluThatRanAfterItsPoolIsAnError) {
  auto net =
      parse_model("[input] shape = 1,4,4\n[relu] name = r\n[maxpool] name = p\n[relu] name = last\n[mse]\n", "m.cfg");
  const Tensor x = testing::random_tensor({2, 1, 4, 4}, 6);
  net->forward(x, Mode::kEval);
  EXPECT_FALSE(net->output_stored(0));
  EXPECT_TRUE(net->output_stored(2)) << "no pool after it";
  try {
    net->output(0);
    FAIL() << "no error";
  } catch (const std::logic_error& e) {
    EXPECT_STREQ(
        e.what(),
        "r ran fused with p, so its output was not stored: call Net::keep_outputs(true) before the forward pass");
  }
  EXPECT_THROW(net->output_gradient(0), std::logic_error);
  EXPECT_EQ(net->output(1).shape(), (Shape{2, 1, 2, 2}));
  net->keep_outputs(true);
  net->forward(x, Mode::kEval);
  ASSERT_EQ(net->output(0).shape(), x.shape());
  for (int64_t i = 0; i < x.numel(); ++i) EXPECT_EQ(net->output(0)[i], std::max(x[i], 0.0f));
}

}  // namespace
}  // namespace shardnet
