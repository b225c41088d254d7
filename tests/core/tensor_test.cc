#include "core/tensor.h"

#include <gtest/gtest.h>

#include <cstdint>

namespace shardnet {
namespace {

TEST(Tensor, ShapeAndAlignment) {
  Tensor t({2, 3, 4});
  EXPECT_EQ(t.numel(), 24);
  EXPECT_EQ(t.rows(), 2);
  EXPECT_EQ(t.row_size(), 12);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(t.data()) % 64, 0u);
  EXPECT_EQ(shape_string(t.shape()), "(2, 3, 4)");
}

TEST(Tensor, ReshapeKeepsStorageWhenItFits) {
  Tensor t({10, 10});
  const float* p = t.data();
  t.reshape({5, 4});
  EXPECT_EQ(t.data(), p);
  t.reshape({10, 10});
  EXPECT_EQ(t.data(), p);
  t.reshape({20, 10});
  EXPECT_EQ(t.numel(), 200);
}

TEST(Tensor, CopiesAreDeep) {
  Tensor a({3});
  a.fill(2.0f);
  Tensor b = a;
  b[0] = 5.0f;
  EXPECT_EQ(a[0], 2.0f);
  EXPECT_EQ(b.shape(), a.shape());
}

}  // namespace
}  // namespace shardnet
