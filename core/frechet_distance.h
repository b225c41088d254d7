#pragma once
// The Frechet distance between Gaussians fitted to two sets of feature vectors: Heusel et al.'s
// FID (2017) computed on any net's features, e.g. a trained classifier's penultimate layer scoring
// a generator's samples against real images:
//   |mu_a - mu_b|^2 + tr(C_a) + tr(C_b) - 2 tr((C_a^1/2 C_b C_a^1/2)^1/2)
// The square roots of these symmetric positive semi-definite matrices come from LAPACK's dsyev
// (OpenBLAS ships it), in double precision.
#include <cstdint>
#include <span>
#include <vector>

namespace shardnet {

// The running mean and covariance of feature vectors of `dims` values, fed in any number of calls.
class FeatureMoments {
 public:
  explicit FeatureMoments(int64_t dims);
  // Adds rows of dims() values each; throws std::invalid_argument when the size is not a multiple.
  void add(std::span<const float> rows);
  int64_t dims() const { return dims_; }
  int64_t count() const { return count_; }
  std::vector<double> mean() const;
  // dims x dims, row-major, normalised by count - 1 (numpy.cov's default); needs count >= 2.
  std::vector<double> covariance() const;

 private:
  int64_t dims_, count_ = 0;
  std::vector<double> shift_;  // the first row: sums are taken around it, which keeps them small
  std::vector<double> sum_, cross_;
};

// Throws std::invalid_argument when the two have different dims or fewer than 2 rows each.
double frechet_distance(const FeatureMoments& a, const FeatureMoments& b);

// The symmetric square root of a symmetric positive semi-definite n x n matrix (row-major); negative
// eigenvalues from rounding count as 0.
std::vector<double> symmetric_sqrt(std::span<const double> matrix, int64_t n);

}  // namespace shardnet
