#include "io/sine_series.h"

#include <gtest/gtest.h>

#include <cmath>

namespace shardnet::io {
namespace {

TEST(SineSeries, SamplesTheCurvePlusBoundedNoise) {
  SineOptions o;
  o.train_windows = 50;
  o.test_windows = 5;
  const Series s = make_sine_series(o);
  ASSERT_EQ(s.rows(), (49 + 11) + (4 + 11));
  EXPECT_EQ(s.names, (std::vector<std::string>{"x", "y"}));
  double largest = 0, sum = 0;
  for (int64_t i = 0; i < s.rows(); ++i) {
    EXPECT_DOUBLE_EQ(s.at(i, 0), static_cast<double>(i) * 0.01);
    const double noise = s.at(i, 1) - sine_curve(s.at(i, 0));
    largest = std::max(largest, std::abs(noise));
    sum += noise;
  }
  EXPECT_LE(largest, 0.05);
  EXPECT_GT(largest, 0.03);  // the noise is there
  EXPECT_LT(std::abs(sum / static_cast<double>(s.rows())), 0.02);
  EXPECT_NEAR(sine_curve(1.5), 1.0 + 0.0 + 0.0, 1e-12);  // sin(pi/2) + cos(pi/2) + sin(pi)
}

TEST(SineSeries, TheSeedFixesTheNoise) {
  SineOptions o;
  o.train_windows = 10;
  o.test_windows = 0;
  EXPECT_EQ(make_sine_series(o).values, make_sine_series(o).values);
  SineOptions other = o;
  other.seed = 2;
  EXPECT_NE(make_sine_series(o).values, make_sine_series(other).values);
  o.noise = 0;
  EXPECT_DOUBLE_EQ(make_sine_series(o).at(7, 1), sine_curve(7 * 0.01));
}

TEST(SineSeries, TestWindowsStartAfterTheLastTrainingSample) {
  SineOptions o;  // the defaults: 10000 + 1000 windows of 10
  const Series s = make_sine_series(o);
  const SeriesWindows w = make_windows(s, sine_window_options(o, s.rows()));
  EXPECT_EQ(w.train.count, 10000);
  EXPECT_EQ(w.test.count, 1000);
  const int64_t last_training_row = w.train.first_row + (w.train.count - 1) + 10;  // its last target
  EXPECT_EQ(w.test.first_row, last_training_row + 1);
  EXPECT_EQ(w.test.first_row + w.test.part_rows, s.rows());
  // Inputs and targets are the raw values, the targets shifted by one step.
  EXPECT_EQ(w.train.data[3], static_cast<float>(s.at(3, 1)));
  EXPECT_EQ(w.train.targets[3], static_cast<float>(s.at(4, 1)));
  EXPECT_EQ(w.test.data[0], static_cast<float>(s.at(w.test.first_row, 1)));
}

}  // namespace
}  // namespace shardnet::io
