#pragma once
// Row-major single-precision GEMM over OpenBLAS: C = alpha * op(A) * op(B) + beta * C,
// op(A) is M x K, op(B) is K x N, C is M x N. Leading dimensions are the row-major row strides.
#include <cstdint>
#include <iosfwd>

namespace shardnet {

void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
          const float* b, int64_t ldb, float beta, float* c, int64_t ldc);

// Contiguous operands: lda/ldb/ldc follow from the shapes.
void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, const float* b,
          float beta, float* c);

// The same product of operands already in bfloat16 (core/half_float.h's bit patterns): a layer in
// bf16 mode writes its operands that way in the pass that produces them, instead of gemm() rounding
// them in a pass of its own. Whatever gemm_precision() says; the same backends as bf16 mode.
void gemm_bf16(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const uint16_t* a, int64_t lda,
               const uint16_t* b, int64_t ldb, float beta, float* c, int64_t ldc);
void gemm_bf16(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const uint16_t* a,
               const uint16_t* b, float beta, float* c);

// A GEMM large enough is computed as chunks of C's columns (or rows), one single-threaded BLAS call
// each, spread over the compute threads (core/parallel.h). The chunks depend on the shape only, so
// the result does not depend on the thread count, whichever kernel OpenBLAS runs.

// The arithmetic of gemm(): float32, or (`--precision bf16`) op(A) and op(B) rounded to bfloat16
// and multiplied with float32 accumulation (core/bf16_matmul.h: oneDNN where the CPU has bf16
// instructions, a reference elsewhere). Process-wide, since the compute pool's threads run GEMMs too.
enum class Precision { kFp32, kBf16 };
std::ostream& operator<<(std::ostream& out, Precision value);  // fp32, bf16
std::istream& operator>>(std::istream& in, Precision& value);  // throws for an unknown name
void set_gemm_precision(Precision precision);
Precision gemm_precision();

// The precision for the scope's lifetime (a net's forward and backward), then the one before.
class GemmPrecisionScope {
 public:
  explicit GemmPrecisionScope(Precision precision);
  ~GemmPrecisionScope();
  GemmPrecisionScope(const GemmPrecisionScope&) = delete;
  GemmPrecisionScope& operator=(const GemmPrecisionScope&) = delete;

 private:
  Precision saved_;
};

// The threads of every kernel: sizes the compute pool and keeps OpenBLAS at one thread per call.
// 0: what OpenBLAS would have used (OPENBLAS_NUM_THREADS, else all cores).
void set_threads(int threads);

}  // namespace shardnet
