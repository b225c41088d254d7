#include "core/frechet_distance.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

namespace shardnet {
namespace {

// n rows of d correlated features: x = L z + offset with z standard normal.
std::vector<float> correlated_rows(int64_t n, int64_t d, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal;
  std::vector<float> mix(static_cast<size_t>(d * d));
  for (float& m : mix) m = normal(rng);
  std::vector<float> rows(static_cast<size_t>(n * d)), z(static_cast<size_t>(d));
  for (int64_t r = 0; r < n; ++r) {
    for (float& v : z) v = normal(rng);
    for (int64_t i = 0; i < d; ++i) {
      float x = 3.0f + static_cast<float>(i);
      for (int64_t k = 0; k < d; ++k) x += mix[i * d + k] * z[k];
      rows[r * d + i] = x;
    }
  }
  return rows;
}

FeatureMoments moments_of(const std::vector<float>& rows, int64_t d) {
  FeatureMoments m(d);
  m.add(rows);
  return m;
}

TEST(FeatureMoments, MeanAndCovarianceAsNumpyAcrossCalls) {
  FeatureMoments m(2);
  const std::vector<float> first = {1, 2, 3, 5}, second = {5, 11};
  m.add(first);
  m.add(second);
  EXPECT_EQ(m.count(), 3);
  EXPECT_DOUBLE_EQ(m.mean()[0], 3.0);
  EXPECT_DOUBLE_EQ(m.mean()[1], 6.0);
  const std::vector<double> c = m.covariance();  // numpy.cov([[1,3,5],[2,5,11]])
  EXPECT_NEAR(c[0], 4.0, 1e-12);
  EXPECT_NEAR(c[1], 9.0, 1e-12);
  EXPECT_NEAR(c[2], 9.0, 1e-12);
  EXPECT_NEAR(c[3], 21.0, 1e-12);
  EXPECT_THROW(m.add(std::vector<float>{1, 2, 3}), std::invalid_argument);
}

TEST(SymmetricSqrt, SquaresBackToTheMatrix) {
  const int64_t d = 5;
  const std::vector<double> c = moments_of(correlated_rows(200, d, 3), d).covariance();
  const std::vector<double> r = symmetric_sqrt(c, d);
  for (int64_t i = 0; i < d; ++i) {
    for (int64_t j = 0; j < d; ++j) {
      double s = 0.0;
      for (int64_t k = 0; k < d; ++k) s += r[i * d + k] * r[k * d + j];
      EXPECT_NEAR(s, c[i * d + j], 1e-9 * (1.0 + std::abs(c[i * d + j])));
    }
  }
}

TEST(FrechetDistance, ZeroForTheSameFeaturesAndTheShiftForAShiftedCopy) {
  const int64_t d = 6;
  const std::vector<float> a = correlated_rows(500, d, 1);
  const FeatureMoments ma = moments_of(a, d);
  EXPECT_NEAR(frechet_distance(ma, ma), 0.0, 1e-8);
  std::vector<float> shifted = a;
  for (size_t i = 0; i < shifted.size(); ++i) shifted[i] += (i % d == 2) ? 1.5f : (i % d == 4 ? -0.5f : 0.0f);
  EXPECT_NEAR(frechet_distance(ma, moments_of(shifted, d)), 1.5 * 1.5 + 0.5 * 0.5, 1e-4);
}

TEST(FrechetDistance, ScaledCopyHasTheClosedForm) {
  // b = k (a - mean) + mean: C_b = k^2 C_a commutes with C_a, so the distance is (1 - k)^2 tr(C_a).
  const int64_t d = 4;
  const float k = 2.0f;
  const std::vector<float> a = correlated_rows(400, d, 2);
  const FeatureMoments ma = moments_of(a, d);
  const std::vector<double> mean = ma.mean();
  std::vector<float> b = a;
  for (size_t i = 0; i < b.size(); ++i) b[i] = static_cast<float>(k * (a[i] - mean[i % d]) + mean[i % d]);
  double trace = 0.0;
  const std::vector<double> c = ma.covariance();
  for (int64_t i = 0; i < d; ++i) trace += c[i * d + i];
  EXPECT_NEAR(frechet_distance(ma, moments_of(b, d)), (1.0 - k) * (1.0 - k) * trace, 1e-4 * trace);
  // Not symmetric in how it is computed, but the distance is.
  EXPECT_NEAR(frechet_distance(moments_of(b, d), ma), (1.0 - k) * (1.0 - k) * trace, 1e-4 * trace);
}

TEST(FrechetDistance, RefusesMismatchedOrTooFewFeatures) {
  FeatureMoments one(3), other(4);
  one.add(std::vector<float>{1, 2, 3});
  EXPECT_THROW(frechet_distance(one, one), std::invalid_argument);  // one row: no covariance
  other.add(std::vector<float>(8, 1.0f));
  EXPECT_THROW(frechet_distance(one, other), std::invalid_argument);
}

}  // namespace
}  // namespace shardnet
