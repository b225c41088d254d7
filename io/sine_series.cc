#include "io/sine_series.h"

#include <cmath>
#include <stdexcept>

#include "core/random.h"

namespace shardnet::io {
namespace {

constexpr uint64_t kNoiseStream = 0x51e;  // the sine noise's own random stream

// Rows that `windows` windows of `window` steps, `stride` apart, need (each window's last target
// is the row after it).
int64_t rows_for(int64_t windows, int64_t window, int64_t stride) { return (windows - 1) * stride + window + 1; }

void check(const SineOptions& o) {
  if (o.window < 1 || o.stride < 1) throw std::invalid_argument("sine: the window and stride must be at least 1");
  if (o.train_windows < 1 || o.test_windows < 0) {
    throw std::invalid_argument("sine: at least one training window, and no negative test windows");
  }
  if (!(o.dx > 0) || !(o.noise >= 0)) throw std::invalid_argument("sine: dx must be > 0 and noise >= 0");
}

}  // namespace

double sine_curve(double x) {
  return std::sin(M_PI * x / 3.0) + std::cos(M_PI * x / 3.0) + std::sin(2.0 * M_PI * x / 3.0);
}

Series make_sine_series(const SineOptions& options) {
  check(options);
  const int64_t rows = rows_for(options.train_windows, options.window, options.stride) +
                       (options.test_windows > 0 ? rows_for(options.test_windows, options.window, options.stride) : 0);
  Series series;
  series.source = "sine";
  series.names = {"x", "y"};
  series.file_columns = {0, 1};
  series.values.reserve(static_cast<size_t>(2 * rows));
  CounterRng rng(options.seed, kNoiseStream);
  for (int64_t i = 0; i < rows; ++i) {
    const double x = static_cast<double>(i) * options.dx;
    const double unit = static_cast<double>(rng.next_u64() >> 11) * 0x1p-53;  // [0, 1)
    series.values.push_back(x);
    series.values.push_back(sine_curve(x) + options.noise * (2.0 * unit - 1.0));
    series.lines.push_back(i + 2);  // line 1 is the CSV header
  }
  return series;
}

WindowOptions sine_window_options(const SineOptions& options, int64_t series_rows) {
  WindowOptions w;
  w.inputs = w.targets = {1};
  w.window = options.window;
  w.horizon = Horizon::kEvery;
  w.stride = options.stride;
  const int64_t test_rows =
      options.test_windows > 0 ? rows_for(options.test_windows, options.window, options.stride) : 0;
  // test_rows_for(series_rows, fraction) gives back exactly test_rows.
  w.test_fraction = static_cast<double>(test_rows) / static_cast<double>(series_rows);
  w.max_train_windows = options.train_windows;
  w.max_test_windows = options.test_windows;
  w.normalise = Normalise::kNone;
  return w;
}

}  // namespace shardnet::io
