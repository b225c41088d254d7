#pragma once
// Counter-based random numbers: every value is a pure function of (seed, stream, counter), so a
// draw never depends on how many draws happened elsewhere (another layer, another rank).
#include <cmath>
#include <cstdint>

namespace shardnet {

__extension__ typedef unsigned __int128 uint128_t;  // NOLINT(modernize-use-using): __extension__ takes a typedef

constexpr uint64_t mix64(uint64_t z) {  // splitmix64 finaliser
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

constexpr uint64_t hash_key(uint64_t a, uint64_t b) { return mix64(a ^ mix64(b)); }
constexpr uint64_t hash_key(uint64_t a, uint64_t b, uint64_t c) { return hash_key(hash_key(a, b), c); }

class CounterRng {
 public:
  explicit CounterRng(uint64_t key) : key_(key) {}
  CounterRng(uint64_t seed, uint64_t stream) : key_(hash_key(seed, stream)) {}

  uint64_t next_u64() { return mix64(key_ ^ mix64(counter_++)); }
  // Uniform in [0, 1) with 24 bits of precision.
  float uniform() { return static_cast<float>(next_u64() >> 40) * (1.0f / 16777216.0f); }
  float uniform(float lo, float hi) { return lo + (hi - lo) * uniform(); }
  // Uniform integer in [0, n), n > 0 (multiply-shift; bias below 2^-32 for the sizes used here).
  uint64_t below(uint64_t n) { return static_cast<uint64_t>((static_cast<uint128_t>(next_u64()) * n) >> 64); }
  // Standard normal by Box-Muller (one value per call, so the stream stays position-indexed).
  float normal() {
    const double u1 = (static_cast<double>(next_u64() >> 11) + 1.0) * (1.0 / 9007199254740993.0);
    const double u2 = static_cast<double>(next_u64() >> 11) * (1.0 / 9007199254740992.0);
    return static_cast<float>(std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2));
  }

 private:
  uint64_t key_;
  uint64_t counter_ = 0;
};

}  // namespace shardnet
