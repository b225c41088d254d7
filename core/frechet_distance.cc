#include "core/frechet_distance.h"

#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

extern "C" void dsyev_(const char* jobz, const char* uplo, const int* n, double* a, const int* lda, double* w,
                       double* work, const int* lwork, int* info);

namespace shardnet {
namespace {

struct Eigen {
  std::vector<double> values;   // ascending
  std::vector<double> vectors;  // column j (in LAPACK's column-major order) is the j-th eigenvector
};

Eigen symmetric_eigen(std::span<const double> matrix, int64_t n) {
  Eigen e{std::vector<double>(static_cast<size_t>(n)), {matrix.begin(), matrix.end()}};
  const int size = static_cast<int>(n);
  int info = 0, lwork = -1;
  double query = 0.0;
  dsyev_("V", "U", &size, e.vectors.data(), &size, e.values.data(), &query, &lwork, &info);
  lwork = static_cast<int>(query);
  std::vector<double> work(static_cast<size_t>(std::max(lwork, 1)));
  dsyev_("V", "U", &size, e.vectors.data(), &size, e.values.data(), work.data(), &lwork, &info);
  if (info != 0) throw std::runtime_error("dsyev did not converge (info " + std::to_string(info) + ")");
  return e;
}

double trace(const std::vector<double>& m, int64_t n) {
  double t = 0.0;
  for (int64_t i = 0; i < n; ++i) t += m[i * n + i];
  return t;
}

// a * b for n x n row-major matrices (OpenBLAS's dgemm).
std::vector<double> multiply(const std::vector<double>& a, const std::vector<double>& b, int64_t n) {
  std::vector<double> c(static_cast<size_t>(n * n), 0.0);
  const int size = static_cast<int>(n);
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, size, size, size, 1.0, a.data(), size, b.data(), size, 0.0,
              c.data(), size);
  return c;
}

}  // namespace

FeatureMoments::FeatureMoments(int64_t dims)
    : dims_(dims), sum_(static_cast<size_t>(dims), 0.0), cross_(static_cast<size_t>(dims * dims), 0.0) {
  if (dims < 1) throw std::invalid_argument("feature moments need at least one dimension");
}

void FeatureMoments::add(std::span<const float> rows) {
  if (rows.size() % static_cast<size_t>(dims_) != 0) {
    throw std::invalid_argument(std::to_string(rows.size()) + " feature values are not rows of " +
                                std::to_string(dims_));
  }
  if (shift_.empty() && !rows.empty()) shift_.assign(rows.begin(), rows.begin() + dims_);
  std::vector<double> centred(static_cast<size_t>(dims_));
  for (size_t first = 0; first < rows.size(); first += static_cast<size_t>(dims_)) {
    for (int64_t j = 0; j < dims_; ++j) {
      centred[j] = rows[first + j] - shift_[j];
      sum_[j] += centred[j];
    }
    for (int64_t i = 0; i < dims_; ++i) {
      const double ci = centred[i];
      if (ci == 0.0) continue;
      double* row = cross_.data() + i * dims_;
      for (int64_t j = 0; j < dims_; ++j) row[j] += ci * centred[j];
    }
    ++count_;
  }
}

std::vector<double> FeatureMoments::mean() const {
  std::vector<double> m(static_cast<size_t>(dims_), 0.0);
  if (count_ == 0) return m;
  for (int64_t j = 0; j < dims_; ++j) m[j] = shift_[j] + sum_[j] / static_cast<double>(count_);
  return m;
}

std::vector<double> FeatureMoments::covariance() const {
  if (count_ < 2) throw std::invalid_argument("a covariance needs at least 2 feature rows");
  const auto n = static_cast<double>(count_);
  std::vector<double> c(cross_.size());
  for (int64_t i = 0; i < dims_; ++i) {
    for (int64_t j = 0; j < dims_; ++j) c[i * dims_ + j] = (cross_[i * dims_ + j] - sum_[i] * sum_[j] / n) / (n - 1.0);
  }
  return c;
}

std::vector<double> symmetric_sqrt(std::span<const double> matrix, int64_t n) {
  const Eigen e = symmetric_eigen(matrix, n);
  std::vector<double> root(static_cast<size_t>(n * n), 0.0);
  for (int64_t k = 0; k < n; ++k) {
    const double s = std::sqrt(std::max(e.values[k], 0.0));
    if (s == 0.0) continue;
    const double* v = e.vectors.data() + k * n;  // eigenvector k (a column in LAPACK's layout)
    for (int64_t i = 0; i < n; ++i) {
      for (int64_t j = 0; j < n; ++j) root[i * n + j] += s * v[i] * v[j];
    }
  }
  return root;
}

double frechet_distance(const FeatureMoments& a, const FeatureMoments& b) {
  if (a.dims() != b.dims()) {
    throw std::invalid_argument("features of " + std::to_string(a.dims()) + " and " + std::to_string(b.dims()) +
                                " dimensions cannot be compared");
  }
  const int64_t n = a.dims();
  const std::vector<double> mean_a = a.mean(), mean_b = b.mean();
  const std::vector<double> cov_a = a.covariance(), cov_b = b.covariance();
  double mean_term = 0.0;
  for (int64_t j = 0; j < n; ++j) mean_term += (mean_a[j] - mean_b[j]) * (mean_a[j] - mean_b[j]);
  const std::vector<double> root_a = symmetric_sqrt(cov_a, n);
  std::vector<double> inner = multiply(multiply(root_a, cov_b, n), root_a, n);
  for (int64_t i = 0; i < n; ++i) {  // symmetric up to rounding: make it exactly so for dsyev
    for (int64_t j = 0; j < i; ++j) inner[i * n + j] = inner[j * n + i] = 0.5 * (inner[i * n + j] + inner[j * n + i]);
  }
  double cross = 0.0;
  for (double v : symmetric_eigen(inner, n).values) cross += std::sqrt(std::max(v, 0.0));
  // At least 0 as a distance is; rounding takes identical sets a hair below.
  return std::max(0.0, mean_term + trace(cov_a, n) + trace(cov_b, n) - 2.0 * cross);
}

}  // namespace shardnet
