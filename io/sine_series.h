#pragma once
// The textbooks' sine data for sequence regression, generated directly:
//   y(x) = sin(pi x / 3) + cos(pi x / 3) + sin(2 pi x / 3) + uniform noise in [-noise, noise]
// sampled at x = i * dx. The series is exactly long enough for `train_windows` windows followed
// by `test_windows` windows that start after the last training sample (target included).
#include <cstdint>

#include "io/csv_series.h"

namespace shardnet::io {

struct SineOptions {
  double dx = 0.01;
  double noise = 0.05;
  uint64_t seed = 1;
  int64_t window = 10;
  int64_t stride = 1;
  int64_t train_windows = 10000;
  int64_t test_windows = 1000;
};

double sine_curve(double x);  // without noise

// Columns "x" and "y", one row per sample; `lines` are those of the CSV write_series_csv makes.
Series make_sine_series(const SineOptions& options);

// Window options that cut the series above into exactly the requested windows (horizon every,
// input and target = "y"), with the test part starting after the training part.
WindowOptions sine_window_options(const SineOptions& options, int64_t series_rows);

}  // namespace shardnet::io
