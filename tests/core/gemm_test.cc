#include "core/gemm.h"

#include <gtest/gtest.h>

#include <vector>

#include "core/parallel.h"
#include "core/random.h"

namespace shardnet {
namespace {

std::vector<float> random_values(int64_t count, uint64_t seed) {
  CounterRng rng(seed, 0);
  std::vector<float> v(static_cast<size_t>(count));
  for (float& x : v) x = rng.uniform() - 0.5f;
  return v;
}

struct Shape3 {
  int64_t m, n, k;
  bool trans_a, trans_b;
};

// C = op(A) op(B) + 0.5 C on `threads` compute threads (OpenBLAS itself on one, as in every command).
std::vector<float> run(const Shape3& s, int threads) {
  set_threads(threads);
  const auto a = random_values(s.m * s.k, 1), b = random_values(s.k * s.n, 2);
  auto c = random_values(s.m * s.n, 3);
  gemm(s.trans_a, s.trans_b, s.m, s.n, s.k, 1.0f, a.data(), b.data(), 0.5f, c.data());
  set_threads(1);
  return c;
}

TEST(Gemm, MatchesANaiveProduct) {
  const int64_t m = 37, n = 130, k = 65;
  for (bool ta : {false, true}) {
    for (bool tb : {false, true}) {
      const auto a = random_values(m * k, 1), b = random_values(k * n, 2);
      std::vector<float> c(static_cast<size_t>(m * n), 0.0f);
      set_compute_threads(2);
      gemm(ta, tb, m, n, k, 1.0f, a.data(), b.data(), 0.0f, c.data());
      set_compute_threads(1);
      for (int64_t i = 0; i < m; ++i) {
        for (int64_t j = 0; j < n; ++j) {
          double expected = 0.0;
          for (int64_t p = 0; p < k; ++p) {
            expected += static_cast<double>(ta ? a[p * m + i] : a[i * k + p]) * (tb ? b[j * k + p] : b[p * n + j]);
          }
          ASSERT_NEAR(c[i * n + j], expected, 1e-4) << ta << tb << " at " << i << "," << j;
        }
      }
    }
  }
}

// Split over the compute threads, every element is computed by the same call: bitwise the same, with
// any kernel (OpenBLAS's Haswell kernel rounds differently near a call's edge; run this test with
// OPENBLAS_CORETYPE=Haswell and with the CPU's own).
TEST(Gemm, ResultDoesNotDependOnTheThreadCount) {
  const Shape3 shapes[] = {{64, 50176, 25, false, false}, {512, 64, 3136, false, true}, {800, 196, 64, true, false},
                           {64, 800, 196, false, true},   {1000, 333, 129, true, true}, {70, 70, 70, false, false}};
  for (const Shape3& s : shapes) {
    const auto one = run(s, 1);
    for (int threads : {2, 3}) {
      EXPECT_EQ(run(s, threads), one) << s.m << "x" << s.n << "x" << s.k << " on " << threads << " threads";
    }
  }
}

TEST(Gemm, RejectsDimensionsOutsideTheBlasRange) {
  std::vector<float> a(4), b(4), c(4);
  EXPECT_THROW(gemm(false, false, 1, 1, int64_t{1} << 33, 1.0f, a.data(), b.data(), 0.0f, c.data()), std::length_error);
}

}  // namespace
}  // namespace shardnet
