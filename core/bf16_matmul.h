#pragma once
// Matrix products of bfloat16 operands with float32 accumulation: the arithmetic of `--precision
// bf16` (core/gemm.h). Two backends, chosen at run time by the CPU's features:
//  - oneDNN's matmul primitive (the library PyTorch's CPU autocast uses), which runs AVX512-BF16
//    dot products (Zen 4, Cooper Lake and later) or AMX tiles (Sapphire Rapids and later);
//  - the reference: the operands rounded to bfloat16 but stored as float32, multiplied by OpenBLAS's
//    sgemm. The product of two bfloat16 values is exact in float32 (8 + 8 significant bits), so it
//    computes what the hardware computes, up to the order of the float32 additions; it runs on any
//    CPU, at float32's speed (slower than plain float32: the rounding is an extra pass), so that the
//    bf16 mode and its tests run everywhere.
#include <cstdint>

namespace shardnet {

enum class Bf16Backend { kOneDnn, kReference };

// What this CPU runs: oneDNN where it has AVX512-BF16 or AMX-BF16 instructions, else the reference.
Bf16Backend bf16_backend();
// "oneDNN 2.6.3 (AVX512-BF16)" or "reference (operands rounded to bf16, fp32 sgemm: no bf16 instructions)".
const char* bf16_backend_name();
// Tests and benchmarks: the reference runs on any CPU; kOneDnn on a CPU without bf16 instructions
// throws std::runtime_error.
void set_bf16_backend(Bf16Backend backend);

// C = alpha * op(A) * op(B) + beta * C with A and B in bfloat16 bit patterns (core/half_float.h),
// row-major with row strides lda, ldb, ldc, like gemm(). One single-threaded call: gemm() splits.
// oneDNN backend only.
void bf16_matmul(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const uint16_t* a,
                 int64_t lda, const uint16_t* b, int64_t ldb, float beta, float* c, int64_t ldc);

}  // namespace shardnet
