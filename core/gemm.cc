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
// A large GEMM is computed as chunks of C's columns (or rows), one single-threaded BLAS call each.
// The chunks follow from the shape alone, never from the thread count: some kernels round an element
// differently depending on the extent of the call it is in (OpenBLAS 0.3.21's Haswell sgemm does,
// within a few columns of a call's edge), so only identical calls give identical bits.
constexpr int64_t kChunkAlign = 64;
// Each call repacks the other operand, so a chunk is never narrower than this.
constexpr int64_t kMinChunk = 256;
// The work a chunk is given at least (tens of microseconds; a BLAS call costs about one).
constexpr double kChunkFlops = 1 << 23;
// Below this many FLOPs a GEMM is one call (waking the pool costs a few microseconds).
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

// The columns (or rows) of C one call computes, from the shape only.
int64_t chunk_extent(int64_t extent, int64_t other, int64_t k) {
  const double flops = 2.0 * static_cast<double>(extent) * other * k;
  if (flops < kMinSplitFlops) return extent;
  const double per_line = std::max(2.0 * static_cast<double>(other) * k, 1.0);
  const auto wanted = static_cast<int64_t>(std::min(kChunkFlops / per_line, static_cast<double>(extent)));
  const int64_t aligned = (std::max(wanted, kMinChunk) + kChunkAlign - 1) / kChunkAlign * kChunkAlign;
  return std::min(aligned, extent);
}
}  // namespace

void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
          const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  if (m == 0 || n == 0) return;
  KernelTimer timer(&KernelStats::gemm_seconds);
  if (kernel_stats_enabled()) kernel_stats().gemm_flops += 2.0 * static_cast<double>(m) * n * k;
  const bool by_columns = n >= m;
  const int64_t extent = by_columns ? n : m;
  const int64_t chunk = chunk_extent(extent, by_columns ? m : n, k);
  const int64_t chunks = (extent + chunk - 1) / chunk;
  auto run_chunks = [&](int64_t first, int64_t last) {
    for (int64_t i = first; i < last; ++i) {
      const int64_t begin = i * chunk, count = std::min(chunk, extent - begin);
      if (by_columns) {
        blas_sgemm(trans_a, trans_b, m, count, k, alpha, a, lda, trans_b ? b + begin * ldb : b + begin, ldb, beta,
                   c + begin, ldc);
      } else {
        blas_sgemm(trans_a, trans_b, count, n, k, alpha, trans_a ? a + begin : a + begin * lda, lda, b, ldb, beta,
                   c + begin * ldc, ldc);
      }
    }
  };
  // parallel_for runs serially on one thread, or when nested in another job.
  parallel_for(chunks, 1, run_chunks);
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
