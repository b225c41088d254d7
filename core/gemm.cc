#include "core/gemm.h"

#include <cblas.h>

#include <cassert>
#include <limits>

#include "core/kernel_stats.h"

namespace shardnet {
namespace {
blasint to_blas(int64_t v) {
  assert(v >= 0 && v <= std::numeric_limits<blasint>::max());
  return static_cast<blasint>(v);
}
}  // namespace

void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
          int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  if (m == 0 || n == 0) return;
  KernelTimer timer(&KernelStats::gemm_seconds);
  if (kernel_stats_enabled()) kernel_stats().gemm_flops += 2.0 * static_cast<double>(m) * n * k;
  cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans,
              to_blas(m), to_blas(n), to_blas(k), alpha, a, to_blas(lda), b, to_blas(ldb), beta, c,
              to_blas(ldc));
}

void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
          const float* b, float beta, float* c) {
  gemm(trans_a, trans_b, m, n, k, alpha, a, trans_a ? m : k, b, trans_b ? k : n, beta, c, n);
}

void set_blas_threads(int threads) {
  if (threads > 0) openblas_set_num_threads(threads);
}

int blas_threads() { return openblas_get_num_threads(); }

}  // namespace shardnet
