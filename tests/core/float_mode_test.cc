#include "core/float_mode.h"

#include <cblas.h>
#include <gtest/gtest.h>
#include <immintrin.h>

#include <atomic>
#include <thread>
#include <vector>

#include "core/background_task.h"
#include "core/gemm.h"
#include "core/parallel.h"

namespace shardnet {
namespace {

constexpr float kDenormal = 1e-39f;  // below FLT_MIN (1.18e-38)

// C = A * B with every A a denormal and every B one: without DAZ each C is 512 denormals summed, a
// normal float (5e-37); with DAZ the inputs count as zero and so does every C.
std::vector<float> denormal_gemm(int64_t n) {
  std::vector<float> a(static_cast<size_t>(n * n), kDenormal), b(a.size(), 1.0f), c(a.size(), -1.0f);
  gemm(false, false, n, n, n, 1.0f, a.data(), b.data(), 0.0f, c.data());
  return c;
}

int64_t nonzeros(const std::vector<float>& values) {
  int64_t count = 0;
  for (float v : values) count += v != 0.0f;
  return count;
}

TEST(FloatMode, MainThreadFlushesBeforeMain) {
  // Set by the preinit entry, before any test or library code ran.
  EXPECT_TRUE(denormals_flushed_on_this_thread());
  volatile float tiny = kDenormal;
  EXPECT_EQ(tiny * 1.0f, 0.0f);
}

TEST(FloatMode, ComputePoolWorkersFlush) {
  set_compute_threads(2);
  std::atomic<int> flushed{0}, chunks{0};
  parallel_for(2, 1, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      chunks++;
      flushed += denormals_flushed_on_this_thread();
    }
  });
  set_compute_threads(1);
  EXPECT_EQ(chunks.load(), 2);
  EXPECT_EQ(flushed.load(), 2);
}

TEST(FloatMode, BackgroundTaskFlushes) {
  BackgroundTask task;
  bool flushed = false;
  task.start([&] { flushed = denormals_flushed_on_this_thread(); });
  task.wait();
  EXPECT_TRUE(flushed);
}

TEST(FloatMode, ThreadsStartedLaterInheritTheMode) {
  bool flushed = false;
  std::thread([&] { flushed = denormals_flushed_on_this_thread(); }).join();
  EXPECT_TRUE(flushed);
}

TEST(FloatMode, DenormalInputsAreRealWithoutTheMode) {
  // The control: with DAZ cleared on this thread, a one-thread GEMM of the same inputs is not zero,
  // so the next test's zeros come from the mode and not from the inputs.
  openblas_set_num_threads(1);
  const unsigned saved = _mm_getcsr();
  _mm_setcsr(saved & ~0x8040u);
  const auto c = denormal_gemm(64);
  _mm_setcsr(saved);
  EXPECT_EQ(nonzeros(c), static_cast<int64_t>(c.size()));
}

TEST(FloatMode, OpenBlasWorkersFlush) {
  if (std::thread::hardware_concurrency() < 2) GTEST_SKIP() << "one core: OpenBLAS starts no workers";
  // Large enough that OpenBLAS splits it over its threads: a worker without DAZ would leave its
  // share of C non-zero.
  openblas_set_num_threads(2);
  ASSERT_EQ(openblas_get_num_threads(), 2);
  const auto c = denormal_gemm(512);
  openblas_set_num_threads(1);
  EXPECT_EQ(nonzeros(c), 0);
}

}  // namespace
}  // namespace shardnet
