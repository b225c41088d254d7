#include "core/half_float.h"

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>
#endif

namespace shardnet {
namespace {

#if defined(__x86_64__)
// CPUID leaf 1 (F16C, AVX, OSXSAVE) and XGETBV (the OS saves the YMM registers): clang 14's
// __builtin_cpu_supports does not know "f16c".
bool has_f16c() {
  static const bool yes = [] {
    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
    if (__get_cpuid(1, &eax, &ebx, &ecx, &edx) == 0) return false;
    if ((ecx & bit_F16C) == 0 || (ecx & bit_AVX) == 0 || (ecx & bit_OSXSAVE) == 0) return false;
    unsigned low = 0, high = 0;
    __asm__("xgetbv" : "=a"(low), "=d"(high) : "c"(0));
    return (low & 6u) == 6u;
  }();
  return yes;
}

__attribute__((target("avx,f16c"))) void to_fp16_f16c(const float* in, uint16_t* out, size_t n) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m128i h = _mm256_cvtps_ph(_mm256_loadu_ps(in + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i), h);
  }
  for (; i < n; ++i) out[i] = to_fp16(in[i]);
}

__attribute__((target("avx,f16c"))) void from_fp16_f16c(const uint16_t* in, float* out, size_t n) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    _mm256_storeu_ps(out + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(in + i))));
  }
  for (; i < n; ++i) out[i] = from_fp16(in[i]);
}
#else
bool has_f16c() { return false; }
void to_fp16_f16c(const float*, uint16_t*, size_t) {}
void from_fp16_f16c(const uint16_t*, float*, size_t) {}
#endif

}  // namespace

void to_fp16(const float* in, uint16_t* out, size_t n) {
  if (has_f16c()) return to_fp16_f16c(in, out, n);
  for (size_t i = 0; i < n; ++i) out[i] = to_fp16(in[i]);
}

void from_fp16(const uint16_t* in, float* out, size_t n) {
  if (has_f16c()) return from_fp16_f16c(in, out, n);
  for (size_t i = 0; i < n; ++i) out[i] = from_fp16(in[i]);
}

void to_bf16(const float* in, uint16_t* out, size_t n) {
  for (size_t i = 0; i < n; ++i) out[i] = to_bf16(in[i]);
}

void from_bf16(const uint16_t* in, float* out, size_t n) {
  for (size_t i = 0; i < n; ++i) out[i] = from_bf16(in[i]);
}

const char* fp16_array_kernel() { return has_f16c() ? "F16C" : "scalar"; }

}  // namespace shardnet
