#include "core/whitening.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <numeric>
#include <stdexcept>

#include "core/gemm.h"

namespace shardnet {

void symmetric_eigen(std::vector<double> a, int64_t n, std::vector<double>& values, std::vector<double>& vectors) {
  assert(static_cast<int64_t>(a.size()) == n * n);
  std::vector<double> v(static_cast<size_t>(n * n), 0.0);  // columns: eigenvectors
  for (int64_t i = 0; i < n; ++i) v[i * n + i] = 1.0;
  double total = 0.0;
  for (double x : a) total += x * x;
  for (int sweep = 0; sweep < 100; ++sweep) {
    double off = 0.0;
    for (int64_t p = 0; p < n; ++p)
      for (int64_t q = p + 1; q < n; ++q) off += a[p * n + q] * a[p * n + q];
    if (off <= 1e-30 * total) break;
    for (int64_t p = 0; p < n; ++p) {
      for (int64_t q = p + 1; q < n; ++q) {
        const double apq = a[p * n + q];
        if (apq == 0.0) continue;
        // The rotation in the (p, q) plane that zeroes a[p][q] (Numerical Recipes, 11.1).
        const double theta = (a[q * n + q] - a[p * n + p]) / (2.0 * apq);
        const double t = (theta >= 0.0 ? 1.0 : -1.0) / (std::abs(theta) + std::sqrt(theta * theta + 1.0));
        const double c = 1.0 / std::sqrt(t * t + 1.0), s = t * c;
        auto rotate = [&](double& x, double& y) {
          const double xp = x, yq = y;
          x = c * xp - s * yq;
          y = s * xp + c * yq;
        };
        for (int64_t k = 0; k < n; ++k) rotate(a[k * n + p], a[k * n + q]);
        for (int64_t k = 0; k < n; ++k) rotate(a[p * n + k], a[q * n + k]);
        for (int64_t k = 0; k < n; ++k) rotate(v[k * n + p], v[k * n + q]);
      }
    }
  }
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t i, int64_t j) { return a[i * n + i] > a[j * n + j]; });
  values.resize(static_cast<size_t>(n));
  vectors.resize(static_cast<size_t>(n * n));
  for (int64_t r = 0; r < n; ++r) {
    values[r] = a[order[r] * n + order[r]];
    for (int64_t k = 0; k < n; ++k) vectors[r * n + k] = v[k * n + order[r]];
  }
}

void PatchMoments::add(const float* columns, int64_t n) {
  std::vector<float> block(static_cast<size_t>(dims * dims));
  // columns * columns^T in float over this block, accumulated in double across blocks.
  gemm(false, true, dims, dims, n, 1.0f, columns, n, columns, n, 0.0f, block.data(), dims);
  for (int64_t i = 0; i < dims * dims; ++i) outer[i] += block[i];
  for (int64_t d = 0; d < dims; ++d) {
    double s = 0.0;
    for (int64_t j = 0; j < n; ++j) s += columns[d * n + j];
    sum[d] += s;
  }
  count += n;
}

void whitening_filters(const PatchMoments& m, int64_t filters, double eps_ratio, float* weights, float* bias) {
  const int64_t d = m.dims;
  if (filters % 2 != 0 || filters > 2 * d) {
    throw std::invalid_argument("whitening needs an even number of filters, at most 2 x " + std::to_string(d) +
                                " (twice the patch size), got " + std::to_string(filters));
  }
  if (m.count < 2) throw std::invalid_argument("whitening needs patches");
  const double n = static_cast<double>(m.count);
  std::vector<double> mean(static_cast<size_t>(d)), cov(static_cast<size_t>(d * d));
  for (int64_t i = 0; i < d; ++i) mean[i] = m.sum[i] / n;
  double trace = 0.0;
  for (int64_t i = 0; i < d; ++i) {
    for (int64_t j = 0; j < d; ++j) cov[i * d + j] = m.outer[i * d + j] / n - mean[i] * mean[j];
    trace += cov[i * d + i];
  }
  std::vector<double> values, vectors;
  symmetric_eigen(cov, d, values, vectors);
  const double eps = eps_ratio * trace / static_cast<double>(d);
  const int64_t half = filters / 2;
  for (int64_t f = 0; f < half; ++f) {
    const double scale = 1.0 / std::sqrt(std::max(values[f], 0.0) + eps);
    double b = 0.0;
    for (int64_t k = 0; k < d; ++k) {
      const double w = vectors[f * d + k] * scale;
      weights[f * d + k] = static_cast<float>(w);
      weights[(half + f) * d + k] = static_cast<float>(-w);
      b -= w * mean[k];
    }
    bias[f] = static_cast<float>(b);
    bias[half + f] = static_cast<float>(-b);
  }
}

}  // namespace shardnet
