#include "core/prediction.h"

#include <gtest/gtest.h>

#include <cmath>
#include <numeric>

#include "core/model_file.h"
#include "core/random.h"

namespace shardnet {
namespace {

std::vector<float> random_values(size_t n, uint64_t seed) {
  CounterRng rng(seed, 0);
  std::vector<float> v(n);
  for (float& x : v) x = static_cast<float>(rng.uniform() * 2.0 - 1.0);
  return v;
}

TEST(Prediction, OutputsDoNotDependOnTheBatchAndRespectLengths) {
  auto net = parse_model(
      "[input] shape = 5,3\n[gru] hidden = 4 return = last\n[dense] outputs = 3\n[softmax_cross_entropy]\n", "m");
  net->initialize(3);
  const int64_t rows = 7;
  const auto data = random_values(static_cast<size_t>(rows * 15), 1);
  const std::vector<int32_t> lengths = {5, 1, 3, 5, 2, 4, 5};
  const Tensor all = predict_outputs(*net, data, lengths, rows);
  ASSERT_EQ(all.shape(), (Shape{rows, 3}));
  for (int64_t batch : {1, 2, 3}) {
    const Tensor parts = predict_outputs(*net, data, lengths, batch);
    for (int64_t i = 0; i < all.numel(); ++i) EXPECT_NEAR(parts[i], all[i], 1e-6f) << "batch " << batch;
  }
  // A row with length 2 gives what the same two steps give alone with nothing after them.
  std::vector<float> row(data.begin() + 4 * 15, data.begin() + 5 * 15);
  std::fill(row.begin() + 2 * 3, row.end(), 0.7f);
  const std::vector<int32_t> two = {2};
  const Tensor alone = predict_outputs(*net, row, two, 1);
  for (int64_t j = 0; j < 3; ++j) EXPECT_NEAR(alone[j], all[4 * 3 + j], 1e-6f);
  // Without lengths the padding is read: another output.
  const Tensor unmasked = predict_outputs(*net, row, {}, 1);
  EXPECT_GT(std::abs(unmasked[0] - alone[0]) + std::abs(unmasked[1] - alone[1]), 1e-4f);

  EXPECT_THROW(predict_outputs(*net, std::vector<float>(16), {}, 4), std::invalid_argument);
  EXPECT_THROW(predict_outputs(*net, data, std::vector<int32_t>(3, 1), 4), std::invalid_argument);
}

TEST(Prediction, TopClassesAreSortedWithTiesToTheLowerIndex) {
  SoftmaxCrossEntropy softmax;
  softmax.setup({4});
  const float logits[] = {1.0f, 3.0f, 1.0f, -2.0f};
  const auto top = top_classes(softmax, logits, 4, 3);
  ASSERT_EQ(top.size(), 3u);
  EXPECT_EQ(top[0].index, 1);
  EXPECT_EQ(top[1].index, 0);  // tied with 2
  EXPECT_EQ(top[2].index, 2);
  const double sum = std::exp(1.0) * 2 + std::exp(3.0) + std::exp(-2.0);
  EXPECT_NEAR(top[0].score, std::exp(3.0) / sum, 1e-12);
  const auto probabilities = softmax.class_scores(logits, 4);
  EXPECT_NEAR(std::accumulate(probabilities.begin(), probabilities.end(), 0.0), 1.0, 1e-12);
  EXPECT_EQ(top_classes(softmax, logits, 4, 10).size(), 4u);

  // One output: the binary form, class 1 above 0 (as the losses count it right).
  SigmoidCrossEntropy sigmoid;
  sigmoid.setup({1});
  const float z = -0.5f;
  const auto binary = top_classes(sigmoid, &z, 1, 2);
  EXPECT_EQ(binary[0].index, 0);
  EXPECT_NEAR(binary[0].score, 1.0 - 1.0 / (1.0 + std::exp(0.5)), 1e-12);
  PerceptronCriterion perceptron;
  perceptron.setup({1});
  EXPECT_FALSE(perceptron.scores_are_probabilities());
  EXPECT_EQ(top_classes(perceptron, &z, 1, 1)[0].index, 0);
  EXPECT_EQ(top_classes(perceptron, &z, 1, 2)[1].score, -0.5);
}

}  // namespace
}  // namespace shardnet
