#include "core/net.h"

#include <gtest/gtest.h>

#include "core/model_file.h"

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

}  // namespace
}  // namespace shardnet
