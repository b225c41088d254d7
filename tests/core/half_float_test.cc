// core/half_float.h against the formats' definitions: exact values, ties to even, the edges of the
// ranges, and a sweep that every float rounds to the nearer of its two neighbours.
#include "core/half_float.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

namespace shardnet {
namespace {

TEST(HalfFloat, Bf16KeepsTheTopSixteenBitsRoundingToNearestEven) {
  EXPECT_EQ(to_bf16(1.0f), 0x3f80);
  EXPECT_EQ(from_bf16(0x3f80), 1.0f);
  EXPECT_EQ(to_bf16(-2.5f), 0xc020);
  // 1 + 2^-8 is halfway between 1 and 1 + 2^-7: ties to the even one, 1.
  EXPECT_EQ(from_bf16(to_bf16(1.0f + 0x1p-8f)), 1.0f);
  // 1 + 3 x 2^-8 is halfway between 1 + 2^-7 and 1 + 2^-6: ties to the even one, 1 + 2^-6.
  EXPECT_EQ(from_bf16(to_bf16(1.0f + 3 * 0x1p-8f)), 1.0f + 0x1p-6f);
  EXPECT_EQ(from_bf16(to_bf16(1.0f + 0x1p-8f + 0x1p-20f)), 1.0f + 0x1p-7f);
  EXPECT_TRUE(std::isnan(from_bf16(to_bf16(std::numeric_limits<float>::quiet_NaN()))));
  EXPECT_EQ(from_bf16(to_bf16(std::numeric_limits<float>::infinity())), std::numeric_limits<float>::infinity());
  EXPECT_NEAR(from_bf16(to_bf16(3.0e38f)) / 3.0e38f, 1.0f, 0x1p-8f);  // float32's range
}

TEST(HalfFloat, Fp16ExactValuesAndRangeEdges) {
  EXPECT_EQ(to_fp16(1.0f), 0x3c00);
  EXPECT_EQ(to_fp16(-2.0f), 0xc000);
  EXPECT_EQ(to_fp16(65504.0f), 0x7bff);  // the largest finite
  EXPECT_EQ(to_fp16(65519.0f), 0x7bff);  // rounds down to it
  EXPECT_EQ(to_fp16(65520.0f), 0x7c00);  // halfway to 65536 ties to even: infinity
  EXPECT_EQ(to_fp16(0x1p-14f), 0x0400);  // the smallest normal
  EXPECT_EQ(to_fp16(0x1p-24f), 0x0001);  // the smallest subnormal
  EXPECT_EQ(to_fp16(0x1p-25f), 0x0000);  // halfway to it ties to even: zero
  EXPECT_EQ(to_fp16(0x1.8p-25f), 0x0001);
  EXPECT_EQ(to_fp16(3 * 0x1p-25f), 0x0002);  // 1.5 x 2^-24 ties to 2 x 2^-24
  EXPECT_EQ(from_fp16(0x0001), 0x1p-24f);
  EXPECT_EQ(from_fp16(0x8400), -0x1p-14f);
  EXPECT_EQ(from_fp16(0x7c00), std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(from_fp16(to_fp16(std::numeric_limits<float>::quiet_NaN()))));
  EXPECT_EQ(from_fp16(to_fp16(1.0f + 0x1p-11f)), 1.0f);  // a tie: to even
  EXPECT_EQ(from_fp16(to_fp16(1.0f + 3 * 0x1p-11f)), 1.0f + 0x1p-9f);
}

// Every 16-bit pattern survives the round trip, and floats between two neighbours go to the nearer.
TEST(HalfFloat, EveryPatternRoundTripsAndNeighboursRoundToTheNearer) {
  for (uint32_t u = 0; u < 0x10000; ++u) {
    const auto h = static_cast<uint16_t>(u);
    const float f16 = from_fp16(h), b16 = from_bf16(h);
    if (!std::isnan(f16)) {
      ASSERT_EQ(to_fp16(f16), h) << std::hex << u;
    }
    if (!std::isnan(b16)) {
      ASSERT_EQ(to_bf16(b16), h) << std::hex << u;
    }
    // Between fp16 pattern h and h + 1 (same sign, finite): a quarter of the way goes down,
    // three quarters up.
    if ((u & 0x7fffu) < 0x7bffu) {
      const float next = from_fp16(static_cast<uint16_t>(u + 1));
      ASSERT_EQ(to_fp16(f16 + (next - f16) * 0.25f), h) << std::hex << u;
      ASSERT_EQ(to_fp16(f16 + (next - f16) * 0.75f), u + 1) << std::hex << u;
    }
  }
}

}  // namespace
}  // namespace shardnet

namespace shardnet {
namespace {

// The array conversions (F16C where the CPU has it) round exactly as the scalar ones, on every
// binary16 pattern and on floats between them, including the tails shorter than a vector.
TEST(HalfFloat, ArraysConvertAsTheScalarFunctionsDo) {
  std::vector<float> floats;
  for (uint32_t u = 0; u < 0x10000; ++u) {
    const float f = from_fp16(static_cast<uint16_t>(u));
    floats.push_back(f);
    floats.push_back(std::nextafter(f, 0.0f));
    floats.push_back(f * 1.0001f);
  }
  floats.push_back(1e30f);
  floats.push_back(-1e-30f);
  for (const size_t n : {floats.size(), size_t{7}, size_t{13}}) {
    std::vector<uint16_t> halves(n), bhalves(n);
    to_fp16(floats.data(), halves.data(), n);
    to_bf16(floats.data(), bhalves.data(), n);
    std::vector<float> back(n), bback(n);
    from_fp16(halves.data(), back.data(), n);
    from_bf16(bhalves.data(), bback.data(), n);
    for (size_t i = 0; i < n; ++i) {
      if (std::isnan(floats[i])) continue;
      ASSERT_EQ(halves[i], to_fp16(floats[i])) << floats[i] << " (kernel " << fp16_array_kernel() << ")";
      ASSERT_EQ(bhalves[i], to_bf16(floats[i])) << floats[i];
      ASSERT_EQ(std::bit_cast<uint32_t>(back[i]), std::bit_cast<uint32_t>(from_fp16(halves[i])));
      ASSERT_EQ(std::bit_cast<uint32_t>(bback[i]), std::bit_cast<uint32_t>(from_bf16(bhalves[i])));
    }
  }
}

// A CPU with F16C gets it (a scalar fallback there would make fp16 gradients slower than float32),
// by the kernel's account of the CPU's flags.
TEST(HalfFloat, TheConversionInstructionsAreUsedWhereTheCpuHasThem) {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  bool f16c = false;
  while (std::getline(cpuinfo, line)) {
    if (line.rfind("flags", 0) == 0) {
      f16c = (line + " ").find(" f16c ") != std::string::npos && (line + " ").find(" avx ") != std::string::npos;
      break;
    }
  }
#if defined(__x86_64__)
  EXPECT_STREQ(fp16_array_kernel(), f16c ? "F16C" : "scalar");
#else
  EXPECT_STREQ(fp16_array_kernel(), "scalar");
#endif
}

}  // namespace
}  // namespace shardnet
