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

TEST(Tensor, SizesThatWouldWrapOrExhaustMemoryAreRefused) {
  EXPECT_THROW(shape_numel({int64_t{1} << 31, int64_t{1} << 31, 4}), SizeError);  // 2^64: wraps to 0
  EXPECT_THROW(shape_numel({3, -1}), SizeError);
  EXPECT_EQ(shape_numel({int64_t{1} << 20, int64_t{1} << 20}), kMaxElements);
  EXPECT_THROW(Tensor({int64_t{1} << 20, int64_t{1} << 20}), SizeError);  // 4 TiB: more than any machine here
  try {
    Tensor({int64_t{1} << 20, int64_t{1} << 20});
  } catch (const SizeError& e) {
    EXPECT_NE(std::string(e.what()).find("more than this machine's"), std::string::npos) << e.what();
  }
}

TEST(Tensor, NewStorageIsZero) {
  Tensor t({1000});
  for (float v : t.span()) ASSERT_EQ(v, 0.0f);
  t.fill(3.0f);
  t.reshape({4000});  // grows: new storage
  for (float v : t.span()) ASSERT_EQ(v, 0.0f);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(t.data()) % 64, 0u);
}

}  // namespace
}  // namespace shardnet
