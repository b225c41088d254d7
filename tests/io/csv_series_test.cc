#include "io/csv_series.h"

#include <gtest/gtest.h>

#include <cmath>
#include <sstream>

#include "io/dataset.h"
#include "io/hdf5.h"
#include "tests/io/test_files.h"

namespace shardnet::io {
namespace {

using testing::expect_error;
using testing::TempDir;

Series parse(const std::string& text, HeaderMode header = HeaderMode::kAuto,
             const std::vector<std::string>& wanted = {}) {
  std::istringstream in(text);
  return read_csv_series(in, "series.csv", header, wanted);
}

void expect_parse_error(const std::string& text, const std::string& message, HeaderMode header = HeaderMode::kAuto,
                        const std::vector<std::string>& wanted = {}) {
  expect_error([&] { parse(text, header, wanted); }, {message});
}

// Columns v, v1, v2, ... holding row + 100 * column (a CSV with a header: line = row + 2).
Series ramp(int64_t rows, int64_t columns = 1) {
  std::ostringstream text;
  for (int64_t c = 0; c < columns; ++c) text << (c ? "," : "") << "v" << (c ? std::to_string(c) : std::string());
  text << "\n";
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < columns; ++c) text << (c ? "," : "") << r + 100 * c;
    text << "\n";
  }
  return parse(text.str());
}

TEST(CsvSeries, ReadsAHeaderAndTheWantedColumns) {
  const Series s = parse("a, b ,\"c,d\"\n1,2,3\n\n4,5,6\r\n", HeaderMode::kAuto, {"c,d", "0"});
  EXPECT_EQ(s.names, (std::vector<std::string>{"c,d", "a"}));
  EXPECT_EQ(s.file_columns, (std::vector<int64_t>{2, 0}));
  EXPECT_EQ(s.rows(), 2);
  EXPECT_EQ(s.lines, (std::vector<int64_t>{2, 4}));  // the blank line 3 is skipped, not renumbered
  EXPECT_EQ(s.values, (std::vector<double>{3, 1, 6, 4}));
  EXPECT_EQ(s.find("a"), 1);
  EXPECT_EQ(s.find("2"), 0);
}

TEST(CsvSeries, DetectsTheHeader) {
  const Series plain = parse("1,2\n3,4\n");
  EXPECT_EQ(plain.names, (std::vector<std::string>{"0", "1"}));
  EXPECT_EQ(plain.rows(), 2);
  // A leading date column is not a header: the date is not a number on the second line either.
  const Series dated = parse("2020-01-01,1.5\n2020-01-02,-2e-3\n", HeaderMode::kAuto, {"1"});
  EXPECT_EQ(dated.rows(), 2);
  EXPECT_EQ(dated.values, (std::vector<double>{1.5, -2e-3}));
  const Series headed = parse("date,value\n2020-01-01,+7\n", HeaderMode::kAuto, {"value"});
  EXPECT_EQ(headed.values, (std::vector<double>{7}));
  EXPECT_EQ(parse("10,20\n1,2\n", HeaderMode::kYes).names, (std::vector<std::string>{"10", "20"}));
  expect_parse_error("x,y\n1,2\n", "series.csv:1: column '0' is not a finite number: \"x\"", HeaderMode::kNo);
}

TEST(CsvSeries, ReportsBadInputWithFileAndLine) {
  expect_parse_error("a,b,c\n1,2,3\n4,5\n", "series.csv:3: expected 3 fields, got 2");
  expect_parse_error("a,b\n1,2\n3,x\n", "series.csv:3: column 'b' is not a finite number: \"x\"");
  expect_parse_error("a,b\n1,2\n3,\n", "series.csv:3: column 'b' is empty");
  expect_parse_error("a,b\n1,2\n3,nan\n", "series.csv:3: column 'b' is not a finite number: \"nan\"");
  expect_parse_error("", "series.csv:1: the file is empty");
  expect_parse_error("\n  \n", "series.csv:1: the file is empty");
  expect_parse_error("a,b\n", "series.csv:2: no data rows after the header");
  expect_parse_error("a,b\n1,2\n", "series.csv: no column 'z' (the columns are a, b)", HeaderMode::kAuto, {"z"});
  expect_parse_error("a,b\n1,2\n", "series.csv: column index 5 is out of range", HeaderMode::kAuto, {"5"});
  // Unused columns need not be numbers, but every line still needs every field.
  EXPECT_EQ(parse("a,b\nx,2\n", HeaderMode::kYes, {"b"}).values, (std::vector<double>{2}));
  expect_error([] { read_csv_series("/nonexistent/s.csv", HeaderMode::kAuto); }, {"/nonexistent/s.csv: cannot open"});
  // Finite as a double, infinite as the float32 it is stored as (and its column's sum with it).
  expect_parse_error("a,b\n1,2\n3,1e39\n", "series.csv:3: column 'b': 1e39 is beyond the float32 range");
}

TEST(CsvSeries, WindowsPredictTheNextValueAtEveryStep) {
  const Series s = ramp(10);
  WindowOptions o;
  o.inputs = o.targets = {0};
  o.window = 3;
  o.test_fraction = 0;
  o.normalise = Normalise::kNone;
  const SeriesWindows w = make_windows(s, o);
  ASSERT_EQ(w.train.count, 7);  // starts 0..6: each needs 4 rows
  EXPECT_EQ(w.test.count, 0);
  for (int64_t i = 0; i < w.train.count; ++i) {
    for (int64_t t = 0; t < 3; ++t) {
      EXPECT_EQ(w.train.data[i * 3 + t], static_cast<float>(i + t));
      EXPECT_EQ(w.train.targets[i * 3 + t], static_cast<float>(i + t + 1));
    }
  }
  o.horizon = Horizon::kLast;
  o.stride = 2;
  const SeriesWindows last = make_windows(s, o);
  ASSERT_EQ(last.train.count, 4);  // starts 0, 2, 4, 6
  EXPECT_EQ(last.train.targets, (std::vector<float>{3, 5, 7, 9}));
  o.max_train_windows = 2;
  EXPECT_EQ(make_windows(s, o).train.count, 2);
}

TEST(CsvSeries, SplitsByTimeWithoutStraddling) {
  const Series s = ramp(20, 2);
  WindowOptions o;
  o.inputs = {0, 1};
  o.targets = {1};
  o.window = 4;
  o.test_fraction = 0.25;  // the last 5 rows
  o.normalise = Normalise::kNone;
  const SeriesWindows w = make_windows(s, o);
  EXPECT_EQ(w.train.first_row, 0);
  EXPECT_EQ(w.train.part_rows, 15);
  EXPECT_EQ(w.train.count, 11);
  EXPECT_EQ(w.test.first_row, 15);
  EXPECT_EQ(w.test.count, 1);
  EXPECT_EQ(w.test.data.front(), 15.0f);      // column 0 at row 15
  EXPECT_EQ(w.test.data[1], 115.0f);          // column 1 at row 15
  EXPECT_EQ(w.test.targets.back(), 119.0f);   // column 1 at row 19
  EXPECT_EQ(w.train.targets.back(), 114.0f);  // never past row 14
}

TEST(CsvSeries, PartsTooShortForOneWindowNameTheirLines) {
  WindowOptions o;
  o.inputs = o.targets = {0};
  o.window = 10;
  o.test_fraction = 0;
  expect_error([&] { make_windows(ramp(6), o); },
               {"series.csv:2: the training part, lines 2-7 (6 rows), is too short for one window of 10 steps",
                "needs 11 rows"});
  o.window = 3;
  o.test_fraction = 0.2;  // 2 of 10 rows
  expect_error([&] { make_windows(ramp(10), o); }, {"series.csv:10: the test part, lines 10-11 (2 rows)"});
  o.test_fraction = 0.01;
  expect_error([&] { make_windows(ramp(10), o); }, {"series.csv: the test part has no rows"});
}

TEST(CsvSeries, StandardisesWithTheTrainingPartOnly) {
  std::string text = "a,flat\n";
  for (int r = 0; r < 10; ++r) text += std::to_string(r < 6 ? r % 2 : 100) + ",7\n";  // 0 1 0 1 0 1 | 100...
  const Series s = parse(text);
  WindowOptions o;
  o.inputs = o.targets = {0, 1};
  o.window = 2;
  o.test_fraction = 0.4;
  const SeriesWindows w = make_windows(s, o);
  EXPECT_DOUBLE_EQ(w.mean[0], 0.5);
  EXPECT_DOUBLE_EQ(w.std[0], 0.5);
  EXPECT_DOUBLE_EQ(w.mean[1], 7.0);
  EXPECT_DOUBLE_EQ(w.std[1], 1.0);  // constant: only centred
  EXPECT_EQ(w.train.data[0], -1.0f);
  EXPECT_EQ(w.train.data[2], 1.0f);
  EXPECT_EQ(w.train.data[1], 0.0f);
  EXPECT_EQ(w.test.data[0], 199.0f);  // (100 - 0.5) / 0.5: the test part's statistics are not used
}

TEST(CsvSeries, WritesFilesTheDatasetReaderUnderstands) {
  TempDir dir;
  const Series s = ramp(30, 3);
  WindowOptions o;
  o.inputs = {0, 2};
  o.targets = {1};
  o.window = 5;
  o.test_fraction = 0.3;
  for (Horizon horizon : {Horizon::kEvery, Horizon::kLast}) {
    o.horizon = horizon;
    const SeriesWindows w = make_windows(s, o);
    const auto paths = write_windows(s, o, w, dir.file("out"), "CSV: ramp");
    ASSERT_EQ(paths.size(), 2u);
    Dataset train(paths[0]), test(paths[1]);
    EXPECT_EQ(train.size(), w.train.count);
    EXPECT_EQ(test.size(), w.test.count);
    EXPECT_EQ(train.sample_shape(), Shape({5, 2}));
    EXPECT_EQ(train.target_shape(), horizon == Horizon::kEvery ? Shape({5, 1}) : Shape({1}));
    EXPECT_FALSE(train.has_class_labels());
    Batch batch;
    const int64_t rows[] = {w.test.count - 1};
    test.read(rows, batch);
    const size_t per_row = horizon == Horizon::kEvery ? 5 : 1;
    for (size_t j = 0; j < per_row; ++j) {
      EXPECT_EQ(batch.targets[static_cast<int64_t>(j)], w.test.targets[(w.test.count - 1) * per_row + j]);
    }
    H5Id file = open_file(paths[1], false);
    EXPECT_EQ(read_string_list_attribute(file.get(), "columns", "t"), (std::vector<std::string>{"v", "v2"}));
    EXPECT_EQ(read_string_list_attribute(file.get(), "target_columns", "t"), (std::vector<std::string>{"v1"}));
    EXPECT_EQ(read_float_list_attribute(file.get(), "mean", "t"), (std::vector<double>{w.mean[0], w.mean[2]}));
    EXPECT_EQ(read_float_list_attribute(file.get(), "target_std", "t"), (std::vector<double>{w.std[1]}));
    EXPECT_EQ(read_int_attribute(file.get(), "window", "t"), 5);
    EXPECT_EQ(read_int_attribute(file.get(), "first_row", "t"), 21);
    EXPECT_EQ(read_string_attribute(file.get(), "horizon", "t"), horizon_name(horizon));
    EXPECT_EQ(read_string_attribute(file.get(), "normalise", "t"), "standard");
    // Un-normalising a stored target gives the raw value back.
    const int64_t last_start = 21 + (w.test.count - 1);
    const int64_t first_target_row = last_start + (horizon == Horizon::kEvery ? 1 : 5);
    EXPECT_NEAR(batch.targets[0] * w.std[1] + w.mean[1], s.at(first_target_row, 1), 1e-4);
  }
}

TEST(CsvSeries, WrittenCsvReadsBackExactly) {
  TempDir dir;
  Series s;
  s.source = "generated";
  s.names = {"x", "a \"b\", c"};
  s.file_columns = {0, 1};
  s.values = {0.1, 1.0 / 3.0, 2e-300, -123456789.123456789};
  s.lines = {2, 3};
  write_series_csv(s, dir.file("s.csv"));
  const Series back = read_csv_series(dir.file("s.csv"), HeaderMode::kAuto);
  EXPECT_EQ(back.names, s.names);
  EXPECT_EQ(back.values, s.values);
}

}  // namespace
}  // namespace shardnet::io
