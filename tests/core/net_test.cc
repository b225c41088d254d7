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

}  // namespace
}  // namespace shardnet
