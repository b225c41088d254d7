#pragma once
// Time series for sequence models: numeric columns read from a CSV file (or generated), cut into
// sliding windows, split by time into a training and a test part, optionally standardised with
// the training part's statistics, and written in shardnet's data-set layout:
//   /data   (N, T, D) float32: T steps of the D input columns
//   /label  (N, T, K) float32 (horizon "every": the next value at every step)
//           (N, K)    float32 (horizon "last": the value after the window)
//   attributes: columns, mean, std (the input columns and the statistics they were standardised
//   with; a value is raw = stored * std + mean), target_columns, target_mean, target_std, window,
//   horizon, stride, normalise, first_row (the series row where this part starts), source.
#include <cstdint>
#include <functional>
#include <istream>
#include <stdexcept>
#include <string>
#include <vector>

#include "io/dataset_writer.h"

namespace shardnet::io {

// A problem with the input series, reported as "file:line: what".
class CsvError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Numeric columns of a series, one row per time step.
struct Series {
  std::string source;                 // file name, for messages
  std::vector<std::string> names;     // column names (from the header, or the 0-based index)
  std::vector<int64_t> file_columns;  // each column's 0-based position in the file
  std::vector<double> values;         // row-major, rows() x names.size()
  std::vector<int64_t> lines;         // the file line of each row (1-based), for messages

  int64_t rows() const { return static_cast<int64_t>(lines.size()); }
  int64_t columns() const { return static_cast<int64_t>(names.size()); }
  double at(int64_t row, int64_t column) const { return values[static_cast<size_t>(row * columns() + column)]; }
  // The column called `name_or_index`: a header name, else a 0-based position in the file.
  int64_t find(const std::string& name_or_index) const;
};

// kAuto: the first line is a header when it holds a field that is not a number where the second
// line holds one (so a leading date column does not make every file look headed).
enum class HeaderMode { kAuto, kYes, kNo };

// Reads the columns `wanted` (header names or 0-based indices, in that order; empty: all) of a CSV.
// Every line must have as many fields as the first; blank lines are skipped; the wanted fields must
// be finite numbers. Errors name the file and the line.
Series read_csv_series(std::istream& in, const std::string& name, HeaderMode header,
                       const std::vector<std::string>& wanted = {});
Series read_csv_series(const std::string& path, HeaderMode header, const std::vector<std::string>& wanted = {});

// Writes a series as CSV with a header line, every value exact (%.17g).
void write_series_csv(const Series& series, const std::string& path);

enum class Horizon { kEvery, kLast };
enum class Normalise { kNone, kStandard };

struct WindowOptions {
  std::vector<int64_t> inputs, targets;  // columns of the Series
  int64_t window = 10;                   // T: input steps per window
  Horizon horizon = Horizon::kEvery;
  int64_t stride = 1;             // rows between the starts of consecutive windows
  double test_fraction = 0.2;     // the last round(f * rows) rows form the test part
  int64_t max_train_windows = 0;  // 0: every window; else the first N of the part
  int64_t max_test_windows = 0;
  Normalise normalise = Normalise::kStandard;
};

// The windows of one part of the series.
struct WindowSet {
  int64_t first_row = 0;       // the series row where this part starts
  int64_t part_rows = 0;       // rows in this part
  int64_t count = 0;           // windows
  std::vector<float> data;     // count x window x inputs
  std::vector<float> targets;  // count x window x targets (every) or count x targets (last)
};

struct SeriesWindows {
  WindowSet train, test;  // test.count == 0 when there is no test part
  // Per column of the Series: what was subtracted and divided by (0 and 1 for kNone).
  std::vector<double> mean, std;
};

// Rows in the test part for `fraction` of `rows`.
int64_t test_rows_for(int64_t rows, double fraction);
// Cuts the series into windows; windows never straddle the train/test split. A part too short
// for one window (window + 1 rows) is an error naming the lines it covers.
SeriesWindows make_windows(const Series& series, const WindowOptions& options);

// Writes `<out_prefix>-train.h5` and, when there is a test part, `<out_prefix>-test.h5`.
// `annotate` may add attributes of its own to each file. Returns the paths written.
std::vector<std::string> write_windows(const Series& series, const WindowOptions& options, const SeriesWindows& windows,
                                       const std::string& out_prefix, const std::string& source,
                                       const std::function<void(DatasetWriter&)>& annotate = {});

const char* horizon_name(Horizon horizon);
const char* normalise_name(Normalise normalise);

}  // namespace shardnet::io
