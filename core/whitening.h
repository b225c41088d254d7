#pragma once
// Patch whitening (PCA whitening of the k x k patches the first conv layer sees) as a data-dependent
// initialisation, the first step of airbench (Jordan 2024) and of Coates & Ng's single-layer nets:
// filter f < F/2 is the f-th principal direction of the patches scaled by 1 / sqrt(variance + eps),
// filter F/2 + f its negative, and the bias subtracts the patch mean, so the first F/2 outputs of the
// layer have zero mean and (nearly) unit, uncorrelated variances on the data.
#include <cstdint>
#include <vector>

namespace shardnet {

// Eigenvalues (descending) and unit eigenvectors (row i belongs to values[i]) of the symmetric n x n
// row-major matrix `a`, by cyclic Jacobi rotations.
void symmetric_eigen(std::vector<double> a, int64_t n, std::vector<double>& values, std::vector<double>& vectors);

// Sums over patches (the columns of an im2col matrix) that whitening needs.
struct PatchMoments {
  explicit PatchMoments(int64_t dims) : dims(dims), sum(dims, 0.0), outer(dims * dims, 0.0) {}
  // Adds the `count` patches held as the columns of the dims x count row-major matrix `columns`.
  void add(const float* columns, int64_t count);

  int64_t dims;
  int64_t count = 0;
  std::vector<double> sum;    // sum of patches
  std::vector<double> outer;  // sum of patch * patch^T
};

// Writes `filters` (even, at most 2 * dims) whitening filters of dims values each into `weights`
// and their biases into `bias`. eps is relative: eps_ratio times the mean variance of the patches.
void whitening_filters(const PatchMoments& moments, int64_t filters, double eps_ratio, float* weights, float* bias);

}  // namespace shardnet
