#include "core/pooling.h"

#include <gtest/gtest.h>

#include <limits>

#include "core/model_file.h"
#include "tests/gradient_checker.h"

namespace shardnet {
namespace {

using testing::check_layer_gradients;
using testing::distinct_tensor;
using testing::random_tensor;

// Pooling by definition; `max` chooses max or average (padding counted in the average's area).
Tensor naive_pool(const Tensor& x, int64_t size, int64_t stride, int64_t pad, bool max) {
  const int64_t n = x.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3);
  const int64_t oh = (h + 2 * pad - size) / stride + 1, ow = (w + 2 * pad - size) / stride + 1;
  Tensor y({n, c, oh, ow});
  for (int64_t p = 0; p < n * c; ++p)
    for (int64_t r = 0; r < oh; ++r)
      for (int64_t s = 0; s < ow; ++s) {
        double acc = max ? -std::numeric_limits<double>::infinity() : 0.0;
        for (int64_t i = 0; i < size; ++i)
          for (int64_t j = 0; j < size; ++j) {
            const int64_t ih = r * stride - pad + i, iw = s * stride - pad + j;
            if (ih < 0 || ih >= h || iw < 0 || iw >= w) continue;
            const double v = x[(p * h + ih) * w + iw];
            acc = max ? std::max(acc, v) : acc + v;
          }
        y[(p * oh + r) * ow + s] = static_cast<float>(max ? acc : acc / static_cast<double>(size * size));
      }
  return y;
}

struct PoolCase {
  int64_t n, c, h, w, size, stride, pad;
};
void PrintTo(const PoolCase& k, std::ostream* os) {
  *os << "n" << k.n << " c" << k.c << " " << k.h << "x" << k.w << " size" << k.size << " stride" << k.stride << " pad"
      << k.pad;
}

class PoolTest : public ::testing::TestWithParam<PoolCase> {};

TEST_P(PoolTest, MaxPoolMatchesDefinitionAndGradients) {
  const PoolCase k = GetParam();
  MaxPool pool("pool", PoolConfig{k.size, k.stride, k.pad});
  pool.setup({k.c, k.h, k.w});
  const Tensor x = random_tensor({k.n, k.c, k.h, k.w}, 5);
  Tensor y;
  pool.forward(x, y, Mode::kTrain);
  const Tensor expected = naive_pool(x, k.size, k.stride, k.pad, true);
  ASSERT_EQ(y.shape(), expected.shape());
  for (int64_t i = 0; i < y.numel(); ++i) ASSERT_FLOAT_EQ(y[i], expected[i]);
  check_layer_gradients(pool, distinct_tensor({k.n, k.c, k.h, k.w}, 6));
}

TEST_P(PoolTest, AvgPoolMatchesDefinitionAndGradients) {
  const PoolCase k = GetParam();
  AvgPool pool("pool", PoolConfig{k.size, k.stride, k.pad});
  pool.setup({k.c, k.h, k.w});
  const Tensor x = random_tensor({k.n, k.c, k.h, k.w}, 7);
  Tensor y;
  pool.forward(x, y, Mode::kTrain);
  const Tensor expected = naive_pool(x, k.size, k.stride, k.pad, false);
  ASSERT_EQ(y.shape(), expected.shape());
  for (int64_t i = 0; i < y.numel(); ++i) ASSERT_NEAR(y[i], expected[i], 1e-6);
  check_layer_gradients(pool, random_tensor({k.n, k.c, k.h, k.w}, 8));
}

INSTANTIATE_TEST_SUITE_P(Shapes, PoolTest,
                         ::testing::Values(PoolCase{2, 3, 4, 4, 2, 2, 0}, PoolCase{1, 2, 5, 5, 2, 2, 0},
                                           PoolCase{2, 2, 7, 6, 3, 2, 1}, PoolCase{1, 1, 6, 6, 3, 1, 0},
                                           PoolCase{2, 2, 5, 7, 2, 1, 1}, PoolCase{1, 3, 9, 9, 3, 3, 0},
                                           PoolCase{2, 2, 6, 7, 2, 2, 0}, PoolCase{1, 2, 7, 6, 2, 2, 0}));

// A reused, dirty dx buffer must not leak through, including the odd row and column no window
// covers; ties go to the first element in the 2x2 path as in the generic one.
TEST(Pool, MaxPool2x2OverwritesDxAndKeepsTheTieRule) {
  MaxPool pool("pool", PoolConfig{2, 2, 0});
  pool.setup({1, 3, 5});
  Tensor x({1, 1, 3, 5});
  for (int64_t i = 0; i < x.numel(); ++i) x[i] = 1.0f;  // every window a tie
  Tensor y, dx({1, 1, 3, 5});
  pool.forward(x, y, Mode::kTrain);
  for (int64_t i = 0; i < dx.numel(); ++i) dx[i] = 99.0f;
  Tensor dy(y.shape());
  for (int64_t i = 0; i < dy.numel(); ++i) dy[i] = 1.0f + static_cast<float>(i);
  pool.backward(x, y, dy, &dx);
  const float expected[15] = {1, 0, 2, 0, 0,  // top-left of each window gets its gradient
                              0, 0, 0, 0, 0,  // column 4 and row 2 are in no window
                              0, 0, 0, 0, 0};
  for (int64_t i = 0; i < 15; ++i) EXPECT_EQ(dx[i], expected[i]) << "at " << i;
}

TEST(Pool, RejectsFlatInputAndOversizedWindow) {
  MaxPool pool("pool", PoolConfig{4, 0, 0});
  EXPECT_THROW(pool.setup({10}), ShapeError);
  EXPECT_THROW(pool.setup({1, 3, 3}), ShapeError);
}

}  // namespace
}  // namespace shardnet

namespace shardnet {
namespace {

TEST(MaxUnpool, PutsValuesBackWhereThePoolFoundTheMaxima) {
  auto net = parse_model("[input] shape = 1,2,4\n[maxpool] name = p size = 2\n[maxunpool] pool = p\n[flatten]\n[mse]\n",
                         "unpool.cfg");
  EXPECT_EQ(net->shape_after(1), (Shape{1, 2, 4}));
  Tensor x({1, 1, 2, 4});
  const float values[] = {1, 9, 3, 2, 4, 0, 8, 7};
  for (int i = 0; i < 8; ++i) x[i] = values[i];
  const Tensor& y = net->forward(x, Mode::kEval);
  const float expected[] = {0, 9, 0, 0, 0, 0, 8, 0};  // the pool's (9, 8) at their positions
  for (int i = 0; i < 8; ++i) EXPECT_EQ(y[i], expected[i]) << i;
}

TEST(MaxUnpool, NamesWhatIsWrongWithItsPool) {
  try {
    parse_model("[input] shape = 1,4,4\n[maxpool] name = p\n[maxunpool] pool = q\n[flatten]\n[mse]\n", "m.cfg");
    FAIL() << "no error";
  } catch (const ModelError& e) {
    EXPECT_NE(std::string(e.what()).find("no earlier layer is named 'q' (earlier maxpools: p)"), std::string::npos)
        << e.what();
  }
  try {
    parse_model("[input] shape = 1,4,4\n[avgpool] name = p\n[maxunpool] pool = p\n[flatten]\n[mse]\n", "m.cfg");
    FAIL() << "no error";
  } catch (const ModelError& e) {
    EXPECT_NE(std::string(e.what()).find("is a [avgpool], not a [maxpool]"), std::string::npos) << e.what();
  }
  // The unpool must get the pool's output shape (here it gets the conv's 3 channels).
  EXPECT_THROW(parse_model("[input] shape = 1,4,4\n[maxpool] name = p\n[conv] filters = 3 size = 1\n"
                           "[maxunpool] pool = p\n[flatten]\n[mse]\n",
                           "m.cfg"),
               ModelError);
}

}  // namespace
}  // namespace shardnet
