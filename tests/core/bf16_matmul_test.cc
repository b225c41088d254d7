#include "core/bf16_matmul.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <sstream>
#include <vector>

#include "core/gemm.h"
#include "core/half_float.h"
#include "core/model_file.h"
#include "core/parallel.h"
#include "tests/gradient_checker.h"

namespace shardnet {
namespace {

using testing::random_tensor;

bool has_bf16_instructions() {
  const Bf16Backend before = bf16_backend();
  try {
    set_bf16_backend(Bf16Backend::kOneDnn);
  } catch (const std::runtime_error&) {
    return false;
  }
  set_bf16_backend(before);
  return true;
}

// Restores the backend the CPU runs after a test that chose one.
class Bf16Test : public ::testing::Test {
 protected:
  void SetUp() override { cpu_backend_ = bf16_backend(); }
  void TearDown() override {
    set_bf16_backend(cpu_backend_);
    set_threads(1);
  }
  Bf16Backend cpu_backend_ = Bf16Backend::kReference;
};

// max |a - b| / max |b|
double relative_difference(const std::vector<float>& a, const std::vector<float>& b) {
  double diff = 0.0, scale = 0.0;
  for (size_t i = 0; i < a.size(); ++i) {
    diff = std::max(diff, std::abs(static_cast<double>(a[i]) - b[i]));
    scale = std::max(scale, std::abs(static_cast<double>(b[i])));
  }
  return scale > 0.0 ? diff / scale : diff;
}

std::vector<float> values(const Tensor& t) { return {t.span().begin(), t.span().end()}; }

struct Operands {
  std::vector<float> a, b, c;
  int64_t lda, ldb, ldc;
};

// A and B stored with padded rows (leading dimensions wider than the matrix), as layers pass them.
Operands operands(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k) {
  Operands o;
  o.lda = (trans_a ? m : k) + 3;
  o.ldb = (trans_b ? k : n) + 5;
  o.ldc = n + 2;
  o.a = values(random_tensor({(trans_a ? k : m) * o.lda}, 11));
  o.b = values(random_tensor({(trans_b ? n : k) * o.ldb}, 12));
  o.c = values(random_tensor({m * o.ldc}, 13));
  return o;
}

// C = alpha op(A) op(B) + beta C in double from the bf16-rounded operands: what both backends compute.
std::vector<float> rounded_product(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                                   const Operands& o, float beta) {
  std::vector<float> c = o.c;
  auto r = [](float v) { return static_cast<double>(from_bf16(to_bf16(v))); };
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      double sum = 0.0;
      for (int64_t p = 0; p < k; ++p) {
        sum +=
            r(trans_a ? o.a[p * o.lda + i] : o.a[i * o.lda + p]) * r(trans_b ? o.b[j * o.ldb + p] : o.b[p * o.ldb + j]);
      }
      c[i * o.ldc + j] = static_cast<float>(alpha * sum + beta * o.c[i * o.ldc + j]);
    }
  }
  return c;
}

TEST(Precision, ParsesAndPrintsItsNames) {
  Precision p = Precision::kFp32;
  std::istringstream("bf16") >> p;
  EXPECT_EQ(p, Precision::kBf16);
  std::ostringstream out;
  out << Precision::kFp32 << " " << Precision::kBf16;
  EXPECT_EQ(out.str(), "fp32 bf16");
  std::istringstream bad("fp16");
  EXPECT_THROW(bad >> p, std::invalid_argument);
}

TEST(Precision, ScopeRestoresThePreviousPrecision) {
  ASSERT_EQ(gemm_precision(), Precision::kFp32);
  {
    const GemmPrecisionScope bf16(Precision::kBf16);
    EXPECT_EQ(gemm_precision(), Precision::kBf16);
    {
      const GemmPrecisionScope fp32(Precision::kFp32);
      EXPECT_EQ(gemm_precision(), Precision::kFp32);
    }
    EXPECT_EQ(gemm_precision(), Precision::kBf16);
  }
  EXPECT_EQ(gemm_precision(), Precision::kFp32);
}

// Both backends, every transpose, strided operands, alpha and beta, on 1 and 2 threads (the chunks
// of a large product): within float32 summation-order noise of the exact product of rounded operands.
TEST_F(Bf16Test, GemmComputesTheProductOfRoundedOperands) {
  std::vector<Bf16Backend> backends = {Bf16Backend::kReference};
  if (has_bf16_instructions()) backends.push_back(Bf16Backend::kOneDnn);
  const int64_t m = 37, n = 530, k = 70;  // n: three chunks of columns
  for (Bf16Backend backend : backends) {
    set_bf16_backend(backend);
    for (int threads : {1, 2}) {
      set_threads(threads);
      for (bool ta : {false, true}) {
        for (bool tb : {false, true}) {
          for (auto [alpha, beta] : {std::pair{1.0f, 0.0f}, std::pair{0.5f, 1.0f}, std::pair{-2.0f, 0.25f}}) {
            Operands o = operands(ta, tb, m, n, k);
            const auto expected = rounded_product(ta, tb, m, n, k, alpha, o, beta);
            const std::vector<float> before = o.c;
            const GemmPrecisionScope bf16(Precision::kBf16);
            gemm(ta, tb, m, n, k, alpha, o.a.data(), o.lda, o.b.data(), o.ldb, beta, o.c.data(), o.ldc);
            for (int64_t i = 0; i < m; ++i) {
              for (int64_t j = 0; j < n; ++j) {
                ASSERT_NEAR(o.c[i * o.ldc + j], expected[i * o.ldc + j],
                            2e-5 * (1.0 + std::abs(expected[i * o.ldc + j])))
                    << bf16_backend_name() << " threads " << threads << " ta " << ta << " tb " << tb << " alpha "
                    << alpha << " at " << i << "," << j;
              }
              // The padding between rows of C is not written.
              for (int64_t j = n; j < o.ldc; ++j) ASSERT_EQ(o.c[i * o.ldc + j], before[i * o.ldc + j]);
            }
          }
        }
      }
    }
  }
}

TEST_F(Bf16Test, OneDnnIsRefusedWithoutBf16Instructions) {
  if (has_bf16_instructions()) GTEST_SKIP() << "this CPU has bf16 instructions: " << bf16_backend_name();
  EXPECT_THROW(set_bf16_backend(Bf16Backend::kOneDnn), std::runtime_error);
  EXPECT_EQ(bf16_backend(), Bf16Backend::kReference);
}

// One layer's forward output, input gradient and parameter gradients.
std::vector<std::vector<float>> run_layer(const char* model, const Shape& x_shape, Precision precision) {
  auto net = parse_model(model, "bf16 parity");
  net->initialize(3);
  Layer& layer = net->layer(0);
  const Tensor x = random_tensor(x_shape, 5);
  Tensor y, dx(x_shape);
  const GemmPrecisionScope scope(precision);
  layer.forward(x, y, Mode::kTrain);
  const Tensor dy = random_tensor(y.shape(), 7);
  layer.backward(x, y, dy, &dx);
  std::vector<std::vector<float>> out = {values(y), values(dx)};
  for (Param* p : layer.params()) out.push_back(values(p->grad));
  return out;
}

struct LayerCase {
  const char* name;
  const char* model;
  Shape input;  // with the batch
};

// Every layer type whose products go through gemm(): the oneDNN backend against the reference
// (the same rounded operands: 1e-5), and bf16 against float32 (bf16's 8-bit significand: ~1e-2).
TEST_F(Bf16Test, LayersMatchTheReferenceAndFloat32) {
  const LayerCase cases[] = {
      {"dense", "[input] shape = 40\n[dense] outputs = 24\n[mse]\n", {16, 40}},
      {"conv (GEMM)",
       "[input] shape = 3,12,12\n[conv] filters = 8 size = 5 pad = 2 algo = gemm\n[mse]\n",
       {4, 3, 12, 12}},
      {"conv (stride 2)", "[input] shape = 4,11,11\n[conv] filters = 6 size = 3 stride = 2\n[mse]\n", {3, 4, 11, 11}},
      {"conv (Winograd)",
       "[input] shape = 32,8,8\n[conv] filters = 32 size = 3 pad = 1 algo = winograd\n[mse]\n",
       {2, 32, 8, 8}},
      {"conv (oneDNN)",
       "[input] shape = 16,9,9\n[conv] filters = 8 size = 3 pad = 1 algo = onednn\n[mse]\n",
       {5, 16, 9, 9}},
      {"conv (oneDNN, 5x5 stride 2, uneven calls)",
       "[input] shape = 16,11,11\n[conv] filters = 12 size = 5 stride = 2 pad = 2 algo = onednn\n[mse]\n",
       {7, 16, 11, 11}},
      {"deconv", "[input] shape = 6,7,7\n[deconv] filters = 4 size = 4 stride = 2 pad = 1\n[mse]\n", {3, 6, 7, 7}},
      {"rnn", "[input] shape = 9,12\n[rnn] hidden = 16\n[mse]\n", {5, 9, 12}},
      {"lstm", "[input] shape = 9,12\n[lstm] hidden = 16 bidirectional = 1\n[mse]\n", {5, 9, 12}},
      {"gru", "[input] shape = 9,12\n[gru] hidden = 16 layers = 2\n[mse]\n", {5, 9, 12}},
  };
  const bool hardware = has_bf16_instructions();
  for (const LayerCase& c : cases) {
    SCOPED_TRACE(c.name);
    const auto fp32 = run_layer(c.model, c.input, Precision::kFp32);
    set_bf16_backend(Bf16Backend::kReference);
    const auto reference = run_layer(c.model, c.input, Precision::kBf16);
    ASSERT_EQ(reference.size(), fp32.size());
    for (size_t i = 0; i < fp32.size(); ++i) {
      const double off = relative_difference(reference[i], fp32[i]);
      // Rounded, but not float32: a bf16 path that silently ran in float32 fails the lower bound
      // (on the output, the input gradient and the weight gradient; a bias gradient sums dy only).
      if (i < 3) {
        EXPECT_GT(off, 1e-5) << "output " << i << " is float32's";
      }
      EXPECT_LT(off, 3e-2) << "output " << i;
    }
    if (!hardware) continue;
    set_bf16_backend(Bf16Backend::kOneDnn);
    const auto onednn = run_layer(c.model, c.input, Precision::kBf16);
    for (size_t i = 0; i < fp32.size(); ++i) {
      EXPECT_LT(relative_difference(onednn[i], reference[i]), 1e-5) << "output " << i;
    }
  }
  if (!hardware) GTEST_SKIP() << "the oneDNN half of the check needs AVX512-BF16 or AMX; the reference was checked";
}

TEST_F(Bf16Test, Float32IsUntouchedOutsideTheScope) {
  const Operands o = operands(false, true, 20, 30, 40);
  std::vector<float> c1 = o.c, c2 = o.c;
  gemm(false, true, 20, 30, 40, 1.0f, o.a.data(), o.lda, o.b.data(), o.ldb, 0.0f, c1.data(), o.ldc);
  { const GemmPrecisionScope bf16(Precision::kBf16); }
  gemm(false, true, 20, 30, 40, 1.0f, o.a.data(), o.lda, o.b.data(), o.ldb, 0.0f, c2.data(), o.ldc);
  EXPECT_EQ(c1, c2);
  const auto rounded = rounded_product(false, true, 20, 30, 40, 1.0f, o, 0.0f);
  EXPECT_GT(relative_difference(c1, rounded), 1e-5);  // float32 operands: not the rounded product
}

}  // namespace
}  // namespace shardnet
