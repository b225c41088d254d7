#include "core/word_vectors.h"

#include <gtest/gtest.h>

#include <cmath>

#include "core/model_file.h"

namespace shardnet {
namespace {

TEST(WordVectors, NearestByCosineIgnoresLengthAndLeavesTheWordOut) {
  Tensor v({4, 2});
  const float rows[] = {1, 0, 10, 1, 0, 1, -1, 0};  // 1 is near 0 (though 10x longer), 2 at 90°, 3 opposite
  std::copy(rows, rows + 8, v.data());
  const auto near = nearest_by_cosine(v, 0, 3);
  ASSERT_EQ(near.size(), 3u);
  EXPECT_EQ(near[0].first, 1);
  EXPECT_NEAR(near[0].second, 10.0 / std::sqrt(101.0), 1e-6);
  EXPECT_EQ(near[1].first, 2);
  EXPECT_EQ(near[2].first, 3);
  EXPECT_NEAR(near[2].second, -1.0, 1e-6);
  EXPECT_EQ(nearest_by_cosine(v, 0, 10).size(), 3u);
  EXPECT_THROW(nearest_by_cosine(v, 4, 1), std::out_of_range);
}

TEST(WordVectors, AreTheFirstLayersTable) {
  auto sg = parse_model("[input] shape = 2\n[skipgram] vocab = 6 dim = 3\n[sigmoid_cross_entropy]\n", "sg");
  EXPECT_EQ(word_vectors(*sg).shape(), (Shape{6, 3}));
  auto emb = parse_model("[input] shape = 4\n[embedding] vocab = 5 dim = 2\n[flatten]\n[mse]\n", "emb");
  EXPECT_EQ(word_vectors(*emb).shape(), (Shape{5, 2}));
  auto mlp = parse_model("[input] shape = 4\n[dense] outputs = 2\n[mse]\n", "mlp");
  EXPECT_THROW(word_vectors(*mlp), std::invalid_argument);
}

}  // namespace
}  // namespace shardnet
