#pragma once
// Blocks of 16 floats as GCC/clang vector types, for the short and strided copies of im2col,
// col2im and the Winograd transforms, which the compiler's own vectoriser leaves scalar (rows of
// 4 to 32 elements, stride 2): one or a few vector instructions per block on any x86 target.
// Everything is passed by reference: a function taking or returning a 64-byte vector by value has
// another ABI without AVX-512 (-Wpsabi).
#include <cstdint>
#include <cstring>

namespace shardnet::float_blocks {

constexpr int64_t kSize = 16;
using Floats = float __attribute__((vector_size(kSize * sizeof(float))));
using Lanes = int32_t __attribute__((vector_size(kSize * sizeof(int32_t))));

inline void load(Floats& v, const float* p) { std::memcpy(&v, p, sizeof v); }
inline void store(float* p, const Floats& v) { std::memcpy(p, &v, sizeof v); }

// v with its lanes at and past n set to +0, by their bits (a NaN there goes too).
inline void keep_first(Floats& v, int64_t n) {
  const Lanes lane = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
  // Vector casts reinterpret the bits; they do not convert.
  v = (Floats)((Lanes)v & (lane < static_cast<int32_t>(n)));
}

// The even and the odd elements of the 32 floats at p.
inline void deinterleave(const float* p, Floats& even, Floats& odd) {
  Floats lo, hi;
  load(lo, p);
  load(hi, p + kSize);
  even = __builtin_shufflevector(lo, hi, 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  odd = __builtin_shufflevector(lo, hi, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
}

}  // namespace shardnet::float_blocks
