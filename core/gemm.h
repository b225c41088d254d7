#pragma once
// Row-major single-precision GEMM over OpenBLAS: C = alpha * op(A) * op(B) + beta * C,
// op(A) is M x K, op(B) is K x N, C is M x N. Leading dimensions are the row-major row strides.
#include <cstdint>

namespace shardnet {

void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
          int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc);

// Contiguous operands: lda/ldb/ldc follow from the shapes.
void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
          const float* b, float beta, float* c);

// Threads used by the BLAS kernels (OpenBLAS); 0 keeps the library's default.
void set_blas_threads(int threads);
int blas_threads();

}  // namespace shardnet
