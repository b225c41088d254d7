#pragma once
// exp, sigmoid, tanh and the normal distribution function for float that the compiler can vectorise (no library calls,
// no branches), for the recurrent cells and GELU, whose element-wise work would otherwise cost as much as their GEMMs.
// fast_exp's relative error is below 3e-7 over the range it does not clamp, [-87, 88].
#include <bit>
#include <cstdint>

namespace shardnet {

inline float fast_exp(float x) {
  x = x < -87.0f ? -87.0f : x;  // keeps 2^k a normal float and the result finite
  x = x > 88.0f ? 88.0f : x;
  const float k = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;  // round(x log2 e), |.| < 2^22
  // r = x - k ln 2 in [-0.35, 0.35], with ln 2 split in two so that k ln 2 is exact (Cody & Waite).
  const float r = (x - k * 0.693145751953125f) - k * 1.428606765330187e-06f;
  // e^r: Taylor terms up to r^6 (the next one is below 1.2e-7 on this range).
  const float p =
      1.0f +
      r * (1.0f + r * (0.5f + r * (0.166666667f + r * (0.0416666667f + r * (0.00833333333f + r * 0.00138888889f)))));
  return std::bit_cast<float>(static_cast<int32_t>(k + 127.0f) << 23) * p;
}

inline float fast_sigmoid(float x) { return 1.0f / (1.0f + fast_exp(-x)); }

// The standard normal distribution function Phi(x) = (1 + erf(x / sqrt 2)) / 2, through Abramowitz &
// Stegun 7.1.26 for erf (absolute error below 1.5e-7) with fast_exp. Also returns e^(-x^2/2), which
// GELU's derivative needs.
inline float fast_normal_cdf(float x, float& gauss) {
  const float z = (x < 0.0f ? -x : x) * 0.70710678118654752f;
  const float t = 1.0f / (1.0f + 0.3275911f * z);
  const float poly =
      t * (0.254829592f + t * (-0.284496736f + t * (1.421413741f + t * (-1.453152027f + t * 1.061405429f))));
  gauss = fast_exp(-z * z);
  const float tail = 0.5f * poly * gauss;  // Phi(-|x|)
  return x < 0.0f ? tail : 1.0f - tail;
}

// 1 - 2 / (e^2x + 1): exact limits at +-inf; absolute error about 1e-7 near 0.
inline float fast_tanh(float x) { return 1.0f - 2.0f / (fast_exp(2.0f * x) + 1.0f); }

}  // namespace shardnet
