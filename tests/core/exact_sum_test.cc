// core/exact_sum.h: the result depends on the set of terms only (any order, any split into partial
// sums, any alignment of partial sums as the MPI sum does it), is accurate to far below a float's
// rounding, and handles terms far apart in magnitude, tiny and huge terms and non-finite ones.
#include "core/exact_sum.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

namespace shardnet {
namespace {

// Terms of widely spread magnitudes and both signs: what makes float sums order-dependent.
std::vector<std::vector<float>> spread_terms(int count, size_t width, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> mantissa(-1.0f, 1.0f);
  std::uniform_int_distribution<int> exponent(-40, 20);
  std::vector<std::vector<float>> terms(static_cast<size_t>(count), std::vector<float>(width));
  for (auto& t : terms)
    for (float& v : t) v = std::ldexp(mantissa(rng), exponent(rng));
  return terms;
}

std::vector<uint32_t> bits_of(const ExactSum& s) {
  std::vector<float> out(s.size());
  s.result(out);
  std::vector<uint32_t> bits;
  bits.reserve(out.size());
  for (float v : out) bits.push_back(std::bit_cast<uint32_t>(v));
  return bits;
}

// As the ranks do it: partial sums aligned to the largest top, then limbs added as integers.
ExactSum sum_over_ranks(std::vector<ExactSum> ranks) {
  int32_t top = ExactSum::kEmpty;
  for (const ExactSum& r : ranks) top = std::max(top, r.top());
  ExactSum total = ranks[0];
  total.align_to(top);
  for (size_t r = 1; r < ranks.size(); ++r) {
    ranks[r].align_to(top);
    for (size_t i = 0; i < total.limbs().size(); ++i) total.limbs()[i] += ranks[r].limbs()[i];
  }
  return total;
}

TEST(ExactSum, TheResultDependsOnTheTermsNotTheirOrderOrGrouping) {
  const size_t width = 257;
  auto terms = spread_terms(96, width, 7);
  ExactSum in_order(width);
  for (const auto& t : terms) in_order.add(t);
  const auto expected = bits_of(in_order);

  std::mt19937 rng(3);
  for (int trial = 0; trial < 20; ++trial) {
    std::shuffle(terms.begin(), terms.end(), rng);
    // Split the shuffled terms over 1..6 "ranks", each summing its share in its own order.
    const int ranks = 1 + trial % 6;
    std::vector<ExactSum> partial(static_cast<size_t>(ranks), ExactSum(width));
    for (size_t i = 0; i < terms.size(); ++i) partial[i * ranks / terms.size()].add(terms[i]);
    EXPECT_EQ(bits_of(sum_over_ranks(partial)), expected) << "trial " << trial;
    ExactSum merged(width);
    for (auto it = partial.rbegin(); it != partial.rend(); ++it) merged.add(*it);
    EXPECT_EQ(bits_of(merged), expected) << "trial " << trial;
  }
  // A float sum of the same terms does depend on the order (the test would pass vacuously otherwise).
  auto float_sum = [&](const std::vector<std::vector<float>>& ts) {
    std::vector<float> s(width, 0.0f);
    for (const auto& t : ts)
      for (size_t j = 0; j < width; ++j) s[j] += t[j];
    return s;
  };
  const auto forward = float_sum(terms);
  std::reverse(terms.begin(), terms.end());
  EXPECT_NE(forward, float_sum(terms));
}

TEST(ExactSum, IsAccurateFarBelowFloatRounding) {
  const auto terms = spread_terms(64, 101, 11);
  ExactSum s(101);
  for (const auto& t : terms) s.add(t);
  for (size_t j = 0; j < 101; ++j) {
    long double reference = 0.0L, magnitude = 0.0L;
    for (const auto& t : terms) {
      reference += t[j];
      magnitude = std::max(magnitude, std::fabs(static_cast<long double>(t[j])));
    }
    // Truncation drops at most 2^-32 of the largest term per term.
    EXPECT_NEAR(static_cast<double>(s.result(j)), static_cast<double>(reference),
                static_cast<double>(magnitude) * 64 * 0x1p-32)
        << j;
  }
}

TEST(ExactSum, BinsMoveUpWhenALargerTermArrivesInAnyOrder) {
  // Each term two bins (64 bits) above the one before, and back: the small ones fall below.
  const std::vector<double> terms = {0x1.3p-60, -0x1.7p-20, 0x1.5p+10, 0x1.1p+45, -0x1.9p+45, 3.0};
  for (int order = 0; order < 2; ++order) {
    ExactSum s(1);
    for (size_t i = 0; i < terms.size(); ++i) {
      const double v = order == 0 ? terms[i] : terms[terms.size() - 1 - i];
      s.add(std::span<const double>(&v, 1));
    }
    // 2^45 (1.1 - 1.9) + 2^10 * 1.3125 + 3: the 2^-20 and 2^-60 terms are below the kept 64 bits.
    EXPECT_EQ(s.result(0), -0x0.8p+45 + 0x1.5p+10 + 3.0) << order;
  }
}

TEST(ExactSum, HandlesTheWholeRangeAndNonFiniteTerms) {
  ExactSum s(3);
  const std::vector<float> tiny = {std::numeric_limits<float>::denorm_min(), -std::numeric_limits<float>::min(), 0.0f};
  s.add(tiny);
  s.add(tiny);
  EXPECT_EQ(s.result(0), 2.0 * std::numeric_limits<float>::denorm_min());
  EXPECT_EQ(s.result(1), -2.0 * std::numeric_limits<float>::min());
  const std::vector<double> huge = {1e300, 1e300, -1e300};
  ExactSum h(3);
  for (int i = 0; i < 1000; ++i) h.add(huge);  // far past float's range: no overflow; 32+ bits kept
  EXPECT_NEAR(h.result(0) / 1e303, 1.0, 1e-9);
  EXPECT_NEAR(h.result(2) / -1e303, 1.0, 1e-9);
  const std::vector<float> bad = {1.0f, std::numeric_limits<float>::infinity(), 0.0f};
  s.add(bad);
  EXPECT_EQ(s.top(), ExactSum::kNonFinite);
  EXPECT_TRUE(std::isnan(s.result(0)));
  // A rank that saw the infinity makes the sum over all ranks NaN.
  ExactSum other(3);
  other.add(tiny);
  other.align_to(s.top());
  EXPECT_TRUE(std::isnan(other.result(2)));
}

TEST(ExactSum, ChecksSizes) {
  ExactSum s(2);
  const std::vector<float> three(3, 1.0f);
  EXPECT_THROW(s.add(three), std::out_of_range);
  EXPECT_THROW(s.add(ExactSum(3)), std::invalid_argument);
  s.add(std::span<const float>(three).first(1), 1);
  EXPECT_EQ(s.result(1), 1.0);
  EXPECT_EQ(s.result(0), 0.0);
}

}  // namespace
}  // namespace shardnet
