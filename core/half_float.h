#pragma once
// 16-bit floats as bit patterns: bfloat16 (8 exponent bits, 7 fraction bits: float32's range) and
// IEEE binary16 (5 and 10: more precision, range up to 65504). Conversions from float round to
// nearest, ties to even; NaN stays NaN; binary16 overflows to infinity and keeps subnormals.
// Written out because neither compiler here offers a portable type for them (GCC 12 has
// _Float16, clang 14 does not on x86).
#include <bit>
#include <cstddef>
#include <cstdint>

namespace shardnet {

inline uint16_t to_bf16(float value) {
  const uint32_t bits = std::bit_cast<uint32_t>(value);
  const uint32_t rounded = (bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16;
  const uint32_t quiet_nan = (bits >> 16) | 0x40u;
  // A select, not a branch, so that loops of conversions vectorise.
  return static_cast<uint16_t>((bits & 0x7fffffffu) > 0x7f800000u ? quiet_nan : rounded);
}

inline float from_bf16(uint16_t value) { return std::bit_cast<float>(static_cast<uint32_t>(value) << 16); }

// A float32 result stored as a GEMM operand of either precision: as it is, or rounded to bfloat16
// bits (bf16 mode), so that a pass writing an operand does the rounding too.
inline void store_float_or_bf16(float value, float& out) { out = value; }
inline void store_float_or_bf16(float value, uint16_t& out) { out = to_bf16(value); }

inline uint16_t to_fp16(float value) {
  const uint32_t bits = std::bit_cast<uint32_t>(value);
  const auto sign = static_cast<uint16_t>((bits >> 16) & 0x8000u);
  const uint32_t magnitude = bits & 0x7fffffffu;
  if (magnitude > 0x7f800000u) return static_cast<uint16_t>(sign | 0x7e00u);   // NaN
  if (magnitude >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // rounds past 65504: inf
  if (magnitude < 0x38800000u) {               // below 2^-14: a binary16 subnormal (or zero)
    if (magnitude < 0x33000000u) return sign;  // below half the smallest subnormal, 2^-25
    const uint32_t mantissa = (magnitude & 0x7fffffu) | 0x800000u;
    const int shift = 126 - static_cast<int>(magnitude >> 23);  // 14..24
    const uint32_t kept = mantissa >> shift, rest = mantissa & ((1u << shift) - 1u), half = 1u << (shift - 1);
    const uint32_t rounded = kept + ((rest > half || (rest == half && (kept & 1u))) ? 1u : 0u);
    return static_cast<uint16_t>(sign | rounded);
  }
  const uint32_t rebased = magnitude - (112u << 23);  // exponent bias 127 -> 15
  const uint32_t rounded = rebased + 0xfffu + ((rebased >> 13) & 1u);
  return static_cast<uint16_t>(sign | (rounded >> 13));
}

inline float from_fp16(uint16_t value) {
  const uint32_t sign = static_cast<uint32_t>(value & 0x8000u) << 16;
  const uint32_t exponent = (value >> 10) & 0x1fu, fraction = value & 0x3ffu;
  if (exponent == 0x1fu) return std::bit_cast<float>(sign | 0x7f800000u | (fraction << 13));  // inf, NaN
  if (exponent == 0) {  // zero or subnormal: fraction x 2^-24
    const float magnitude = static_cast<float>(fraction) * 0x1p-24f;
    return sign != 0 ? -magnitude : magnitude;
  }
  return std::bit_cast<float>(sign | ((exponent + 112u) << 23) | (fraction << 13));
}

}  // namespace shardnet

namespace shardnet {

// Whole arrays. binary16 goes through the CPU's conversion instructions (F16C: x86 since Ivy
// Bridge and Piledriver) where it has them, the same rounding as to_fp16; bfloat16's loops are
// plain code the compiler vectorises.
void to_fp16(const float* in, uint16_t* out, size_t n);
void from_fp16(const uint16_t* in, float* out, size_t n);
void to_bf16(const float* in, uint16_t* out, size_t n);
void from_bf16(const uint16_t* in, float* out, size_t n);
// "F16C" or "scalar": which binary16 conversion the arrays get on this CPU.
const char* fp16_array_kernel();

}  // namespace shardnet
