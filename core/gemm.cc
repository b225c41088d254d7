#include "core/gemm.h"

#include <cblas.h>

#include <algorithm>
#include <limits>
#include <stdexcept>
#include <string>

#include "core/kernel_stats.h"
#include "core/parallel.h"

namespace shardnet {
namespace {
// Slices of one GEMM over the compute threads start on multiples of this many rows or columns.
constexpr int64_t kSplitAlign = 64;
// Below this many FLOPs a GEMM runs on one thread (waking the pool costs a few microseconds).
constexpr double kMinSplitFlops = 2.0 * 64 * 64 * 64;

blasint to_blas(int64_t v) {
  if (v < 0 || v > std::numeric_limits<blasint>::max()) {
    throw std::length_error("gemm: dimension " + std::to_string(v) + " outside the BLAS integer range");
  }
  return static_cast<blasint>(v);
}

void blas_sgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
                const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, to_blas(m),
              to_blas(n), to_blas(k), alpha, a, to_blas(lda), b, to_blas(ldb), beta, c, to_blas(ldc));
}
}  // namespace

void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
          const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  if (m == 0 || n == 0) return;
  KernelTimer timer(&KernelStats::gemm_seconds);
  if (kernel_stats_enabled()) kernel_stats().gemm_flops += 2.0 * static_cast<double>(m) * n * k;
  const bool split =
      compute_threads() > 1 && !in_parallel_job() && 2.0 * static_cast<double>(m) * n * k >= kMinSplitFlops;
  const bool by_columns = n >= m;
  const int64_t extent = by_columns ? n : m;
  if (!split || extent < 2 * kSplitAlign) {
    blas_sgemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    return;
  }
  // Each thread computes a slice of C's columns (or rows) with one single-threaded call; slices
  // start on multiples of kSplitAlign, so every element goes through the same kernel as unsplit.
  parallel_for((extent + kSplitAlign - 1) / kSplitAlign, 1, [&](int64_t first, int64_t last) {
    const int64_t begin = first * kSplitAlign, count = std::min(last * kSplitAlign, extent) - begin;
    if (by_columns) {
      blas_sgemm(trans_a, trans_b, m, count, k, alpha, a, lda, trans_b ? b + begin * ldb : b + begin, ldb, beta,
                 c + begin, ldc);
    } else {
      blas_sgemm(trans_a, trans_b, count, n, k, alpha, trans_a ? a + begin : a + begin * lda, lda, b, ldb, beta,
                 c + begin * ldc, ldc);
    }
  });
}

void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, const float* b,
          float beta, float* c) {
  gemm(trans_a, trans_b, m, n, k, alpha, a, trans_a ? m : k, b, trans_b ? k : n, beta, c, n);
}

void set_threads(int threads) {
  // What OpenBLAS read when it loaded (OPENBLAS_NUM_THREADS, else all cores), taken before the
  // first call below sets it to one.
  static const int loaded_with = openblas_get_num_threads();
  const int count = threads > 0 ? threads : loaded_with;
  // Every BLAS call is single-threaded: the compute pool splits the large ones (see gemm()), so
  // OpenBLAS's own workers never run, and never spin against the pool.
  openblas_set_num_threads(1);
  set_compute_threads(count);
}

}  // namespace shardnet
