#pragma once
// Sums of float rows in 16 independent lanes: a single running sum is one dependent add per element
// (latency-bound, and the compiler may not reorder float adds to vectorise it); 16 lanes are one
// vector add per 16 elements. The order is fixed by the length alone, so the result does not
// depend on the thread that computes it.
#include <cstdint>

namespace shardnet {

inline float lane_sum(const float* x, int64_t n) {
  constexpr int64_t kLanes = 16;
  float lanes[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (int64_t j = 0; j < kLanes; ++j) lanes[j] += x[i + j];
  }
  for (int64_t j = 0; i < n; ++i, ++j) lanes[j] += x[i];
  float sum = 0.0f;
  for (float lane : lanes) sum += lane;
  return sum;
}

// sums[c] = the sum of channel c's planes over all images of x (images, channels, plane), for the
// channels [first, last): a conv or deconv layer's bias gradient.
inline void channel_sums(const float* x, int64_t images, int64_t channels, int64_t plane, int64_t first, int64_t last,
                         float* sums) {
  for (int64_t c = first; c < last; ++c) {
    float sum = 0.0f;
    for (int64_t i = 0; i < images; ++i) sum += lane_sum(x + (i * channels + c) * plane, plane);
    sums[c] = sum;
  }
}

}  // namespace shardnet
