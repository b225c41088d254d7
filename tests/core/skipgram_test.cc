#include "core/skipgram.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>

namespace shardnet {
namespace {

DataDescription pairs_with_counts(std::vector<float> counts) {
  const auto vocab = static_cast<int64_t>(counts.size());
  return DataDescription{"pairs.h5", {2}, true, 1, {}, vocab, std::move(counts)};
}

// Which word each output scores, read back from the logits: with one-hot input vectors and output
// vectors holding their own id, a logit is the id of the word it scores.
std::vector<int64_t> scored_words(SkipGram& layer, const Tensor& pairs, const std::vector<int64_t>& rows) {
  StepContext context{7, 3, rows, nullptr, {}};
  layer.bind(&context);
  Tensor y;
  layer.forward(pairs, y, Mode::kTrain);
  std::vector<int64_t> words;
  for (float v : y.span()) words.push_back(static_cast<int64_t>(std::lround(v)));
  return words;
}

class SkipGramNoise : public ::testing::Test {
 protected:
  void SetUp() override {
    layer.setup({2});
    layer.adopt_data(pairs_with_counts({1000, 100, 10, 1, 0, 0, 0, 0}));
    // Input vector of word w: (1, 0); output vector: (w, 0): the logit of word w is w.
    Param& in = *layer.params()[0];
    Param& out = *layer.params()[1];
    in.value.zero();
    out.value.zero();
    for (int64_t w = 0; w < 8; ++w) {
      in.value[w * 2] = 1.0f;
      out.value[w * 2] = static_cast<float>(w);
    }
  }
  SkipGram layer{"sg", 8, 2, 4, 0.75f};
};

// A sample's noise words depend on its data-set row (and seed and epoch) only: alone or in
// another batch, at any position, the same ones, so every rank count draws what one process draws.
TEST_F(SkipGramNoise, DependsOnTheSampleRowNotOnTheBatch) {
  Tensor one({1, 2});
  one[0] = 0;
  one[1] = 1;
  const auto alone = scored_words(layer, one, {42});
  ASSERT_EQ(alone.size(), 5u);
  EXPECT_EQ(alone[0], 1) << "output 0 scores the context";
  Tensor three({3, 2});
  for (int i = 0; i < 3; ++i) {
    three[2 * i] = 0;
    three[2 * i + 1] = 1;
  }
  const auto batch = scored_words(layer, three, {5, 42, 9});
  EXPECT_EQ(std::vector<int64_t>(batch.begin() + 5, batch.begin() + 10), alone);
  EXPECT_NE(std::vector<int64_t>(batch.begin(), batch.begin() + 5), alone) << "another row, other draws";
}

// Noise words follow count^0.75 (words never seen are never drawn) and never repeat the context.
TEST_F(SkipGramNoise, FollowsTheUnigramDistributionToThePower) {
  const int64_t n = 4000;
  Tensor x({n, 2});
  std::vector<int64_t> rows(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    x[2 * i] = 0;
    x[2 * i + 1] = 3;
    rows[static_cast<size_t>(i)] = i;
  }
  std::map<int64_t, int64_t> drawn;
  const auto words = scored_words(layer, x, rows);
  for (size_t i = 0; i < words.size(); ++i)
    if (i % 5 != 0) ++drawn[words[i]];
  EXPECT_EQ(drawn.count(3), 0u) << "the context itself";
  for (int64_t w = 4; w < 8; ++w) EXPECT_EQ(drawn.count(w), 0u) << w;
  // 1000^0.75 : 100^0.75 : 10^0.75 = 177.8 : 31.6 : 5.6 (word 3 excluded).
  const double total = 177.83 + 31.62 + 5.62, draws = 4.0 * n;
  EXPECT_NEAR(drawn[0] / draws, 177.83 / total, 0.02);
  EXPECT_NEAR(drawn[1] / draws, 31.62 / total, 0.02);
  EXPECT_NEAR(drawn[2] / draws, 5.62 / total, 0.01);
}

TEST(SkipGram, NeedsTheDatasWordCounts) {
  SkipGram layer("sg", 8, 2, 4, 0.75f);
  layer.setup({2});
  DataDescription no_counts = pairs_with_counts({});
  no_counts.vocab_size = 8;
  EXPECT_THROW(layer.check_input_data(no_counts), std::invalid_argument);
  EXPECT_THROW(layer.check_input_data(pairs_with_counts(std::vector<float>(9, 1.0f))), std::invalid_argument)
      << "a larger vocabulary than the layer's";
  EXPECT_THROW(layer.setup({3}), ShapeError);
}

}  // namespace
}  // namespace shardnet
