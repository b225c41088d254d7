#include "io/csv_series.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <memory>

#include "core/text_escape.h"

namespace shardnet::io {
namespace {

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }

std::string trim(const std::string& s) {
  size_t begin = 0, end = s.size();
  while (begin < end && is_blank(s[begin])) ++begin;
  while (end > begin && is_blank(s[end - 1])) --end;
  return s.substr(begin, end - begin);
}

// Splits one CSV line on commas; a field in double quotes may hold commas, and "" is a quote.
std::vector<std::string> split_csv_line(const std::string& line) {
  std::vector<std::string> fields;
  std::string field;
  bool quoted = false, was_quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        field += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        field += c;
      }
    } else if (c == '"' && trim(field).empty()) {
      quoted = was_quoted = true;
      field.clear();
    } else if (c == ',') {
      fields.push_back(was_quoted ? field : trim(field));
      field.clear();
      was_quoted = false;
    } else if (!(was_quoted && is_blank(c))) {
      field += c;
    }
  }
  fields.push_back(was_quoted ? field : trim(field));
  return fields;
}

// A finite number filling the whole field ("+1.5", "-2e-3"; not "nan", "inf" or "1.5x").
bool parse_number(const std::string& field, double& value) {
  const char* begin = field.data();
  const char* end = begin + field.size();
  if (begin != end && *begin == '+') ++begin;
  if (begin == end) return false;
  const auto result = std::from_chars(begin, end, value);
  return result.ec == std::errc() && result.ptr == end && std::isfinite(value);
}

struct CsvLine {
  int64_t number = 0;  // 1-based line in the file
  std::vector<std::string> fields;
};

// Non-blank lines of a CSV stream, split into fields; a UTF-8 byte-order mark is dropped.
class CsvLineReader {
 public:
  explicit CsvLineReader(std::istream& in) : in_(in) {}
  bool next(CsvLine& out) {
    std::string text;
    while (std::getline(in_, text)) {
      ++line_;
      if (line_ == 1 && text.rfind("\xEF\xBB\xBF", 0) == 0) text.erase(0, 3);
      if (trim(text).empty()) continue;
      out.number = line_;
      out.fields = split_csv_line(text);
      return true;
    }
    return false;
  }
  int64_t lines_read() const { return line_; }

 private:
  std::istream& in_;
  int64_t line_ = 0;
};

bool looks_like_header(const CsvLine& first, const CsvLine* second) {
  double v = 0;
  for (size_t i = 0; i < first.fields.size(); ++i) {
    if (parse_number(first.fields[i], v)) continue;
    const bool below_is_number = second == nullptr || (i < second->fields.size() && parse_number(second->fields[i], v));
    if (below_is_number) return true;
  }
  return false;
}

std::string joined(const std::vector<std::string>& names, size_t limit = 20) {
  std::string out;
  for (size_t i = 0; i < names.size() && i < limit; ++i) out += (i ? ", " : "") + names[i];
  if (names.size() > limit) out += ", ...";
  return out;
}

// Index into `names` of the column `spec` names: a name first, else a 0-based file position.
int64_t find_column(const std::vector<std::string>& names, const std::vector<int64_t>& positions,
                    const std::string& spec, const std::string& source) {
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i] == spec) return static_cast<int64_t>(i);
  }
  int64_t index = -1;
  const auto result = std::from_chars(spec.data(), spec.data() + spec.size(), index);
  const bool is_index = !spec.empty() && result.ec == std::errc() && result.ptr == spec.data() + spec.size();
  if (is_index) {
    for (size_t i = 0; i < positions.size(); ++i) {
      if (positions[i] == index) return static_cast<int64_t>(i);
    }
    throw CsvError(source + ": column index " + spec + " is out of range (the columns are " + joined(names) + ")");
  }
  throw CsvError(source + ": no column '" + spec + "' (the columns are " + joined(names) + ")");
}

std::vector<int64_t> iota_positions(size_t n) {
  std::vector<int64_t> positions(n);
  for (size_t i = 0; i < n; ++i) positions[i] = static_cast<int64_t>(i);
  return positions;
}

// Appends the wanted fields of one data line to the series.
void add_row(Series& series, const CsvLine& line, size_t expected_fields) {
  if (line.fields.size() != expected_fields) {
    throw CsvError(series.source + ":" + std::to_string(line.number) + ": expected " + std::to_string(expected_fields) +
                   " fields, got " + std::to_string(line.fields.size()));
  }
  for (size_t c = 0; c < series.file_columns.size(); ++c) {
    const std::string& field = line.fields[static_cast<size_t>(series.file_columns[c])];
    double value = 0;
    if (!parse_number(field, value)) {
      const std::string where =
          series.source + ":" + std::to_string(line.number) + ": column '" + series.names[c] + "'";
      throw CsvError(field.empty() ? where + " is empty" : where + " is not a finite number: \"" + field + "\"");
    }
    // Stored as float32: a larger magnitude would become infinity there (and its column's sums).
    if (std::abs(value) > std::numeric_limits<float>::max()) {
      throw CsvError(series.source + ":" + std::to_string(line.number) + ": column '" + series.names[c] +
                     "': " + field + " is beyond the float32 range (3.4e38)");
    }
    series.values.push_back(value);
  }
  series.lines.push_back(line.number);
}

void check_options(const Series& series, const WindowOptions& options) {
  auto fail = [&](const std::string& what) { throw CsvError(series.source + ": " + what); };
  if (options.window < 1) fail("the window must be at least 1 step");
  if (options.stride < 1) fail("the stride must be at least 1");
  if (options.inputs.empty() || options.targets.empty()) fail("no input or target columns");
  if (!(options.test_fraction >= 0.0 && options.test_fraction < 1.0)) fail("the test fraction must be in [0, 1)");
  if (options.max_train_windows < 0 || options.max_test_windows < 0) fail("window counts must be >= 0");
  for (const auto* list : {&options.inputs, &options.targets}) {
    for (int64_t c : *list) {
      if (c < 0 || c >= series.columns()) fail("column " + std::to_string(c) + " is out of range");
    }
  }
}

void column_statistics(const Series& series, int64_t rows, Normalise normalise, std::vector<double>& mean,
                       std::vector<double>& std_dev) {
  const int64_t columns = series.columns();
  mean.assign(static_cast<size_t>(columns), 0.0);
  std_dev.assign(static_cast<size_t>(columns), 1.0);
  if (normalise == Normalise::kNone || rows == 0) return;
  for (int64_t c = 0; c < columns; ++c) {
    double sum = 0;
    for (int64_t r = 0; r < rows; ++r) sum += series.at(r, c);
    const double m = sum / static_cast<double>(rows);
    double squares = 0;
    for (int64_t r = 0; r < rows; ++r) squares += (series.at(r, c) - m) * (series.at(r, c) - m);
    const double s = std::sqrt(squares / static_cast<double>(rows));
    mean[c] = m;
    std_dev[c] = s > 0 ? s : 1.0;  // a constant column is only centred
  }
}

std::string lines_of(const Series& series, int64_t first_row, int64_t rows) {
  return "lines " + std::to_string(series.lines[first_row]) + "-" + std::to_string(series.lines[first_row + rows - 1]);
}

WindowSet cut_windows(const Series& series, const WindowOptions& options, const SeriesWindows& stats, int64_t first_row,
                      int64_t part_rows, int64_t max_windows, const std::string& part) {
  const int64_t t = options.window;
  if (part_rows == 0) {
    throw CsvError(series.source + ": the " + part + " part has no rows (the series has " +
                   std::to_string(series.rows()) + "; lower the test fraction or give more rows)");
  }
  if (part_rows < t + 1) {
    throw CsvError(series.source + ":" + std::to_string(series.lines[first_row]) + ": the " + part + " part, " +
                   lines_of(series, first_row, part_rows) + " (" + std::to_string(part_rows) +
                   " rows), is too short for one window of " + std::to_string(t) + " steps (it needs " +
                   std::to_string(t + 1) + " rows: the window and the step after it)");
  }
  WindowSet set;
  set.first_row = first_row;
  set.part_rows = part_rows;
  set.count = (part_rows - t - 1) / options.stride + 1;
  if (max_windows > 0) set.count = std::min(set.count, max_windows);
  auto value = [&](int64_t row, int64_t column) {
    return static_cast<float>((series.at(row, column) - stats.mean[column]) / stats.std[column]);
  };
  const bool every = options.horizon == Horizon::kEvery;
  for (int64_t w = 0; w < set.count; ++w) {
    const int64_t start = first_row + w * options.stride;
    for (int64_t step = 0; step < t; ++step) {
      for (int64_t c : options.inputs) set.data.push_back(value(start + step, c));
    }
    for (int64_t step = every ? 0 : t - 1; step < t; ++step) {
      for (int64_t c : options.targets) set.targets.push_back(value(start + step + 1, c));
    }
  }
  return set;
}

std::vector<std::string> column_names(const Series& series, const std::vector<int64_t>& columns) {
  std::vector<std::string> names;
  names.reserve(columns.size());
  for (int64_t c : columns) names.push_back(series.names[c]);
  return names;
}

std::vector<double> pick(const std::vector<double>& values, const std::vector<int64_t>& columns) {
  std::vector<double> out;
  out.reserve(columns.size());
  for (int64_t c : columns) out.push_back(values[c]);
  return out;
}

void write_part(const Series& series, const WindowOptions& options, const SeriesWindows& windows, const WindowSet& part,
                const std::string& path, const std::string& source,
                const std::function<void(DatasetWriter&)>& annotate) {
  const int64_t t = options.window;
  const int64_t d = static_cast<int64_t>(options.inputs.size());
  const int64_t k = static_cast<int64_t>(options.targets.size());
  DatasetInfo info;
  info.sample_shape = {t, d};
  info.source = source;
  info.data_type = ElementType::kFloat32;
  info.label_type = LabelType::kTargets;
  info.target_shape = options.horizon == Horizon::kEvery ? Shape{t, k} : Shape{k};
  DatasetWriter writer(path, info);
  writer.append_data(part.data.data(), part.count);
  writer.append_targets(part.targets.data(), part.count);
  writer.set_string_list_attribute("columns", column_names(series, options.inputs));
  writer.set_float_list_attribute("mean", pick(windows.mean, options.inputs));
  writer.set_float_list_attribute("std", pick(windows.std, options.inputs));
  writer.set_string_list_attribute("target_columns", column_names(series, options.targets));
  writer.set_float_list_attribute("target_mean", pick(windows.mean, options.targets));
  writer.set_float_list_attribute("target_std", pick(windows.std, options.targets));
  writer.set_int_attribute("window", t);
  writer.set_string_attribute("horizon", horizon_name(options.horizon));
  writer.set_int_attribute("stride", options.stride);
  writer.set_string_attribute("normalise", normalise_name(options.normalise));
  writer.set_int_attribute("first_row", part.first_row);
  if (annotate) annotate(writer);
  writer.finish();
}

}  // namespace

int64_t Series::find(const std::string& name_or_index) const {
  return find_column(names, file_columns, name_or_index, source);
}

Series read_csv_series(std::istream& in, const std::string& name, HeaderMode header,
                       const std::vector<std::string>& wanted) {
  CsvLineReader reader(in);
  CsvLine first, second;
  if (!reader.next(first)) throw CsvError(name + ":1: the file is empty (no rows)");
  const bool has_second = reader.next(second);
  const bool headed = header == HeaderMode::kYes ||
                      (header == HeaderMode::kAuto && looks_like_header(first, has_second ? &second : nullptr));
  const size_t fields = first.fields.size();
  std::vector<std::string> file_names;
  for (size_t i = 0; i < fields; ++i) {
    file_names.push_back(headed && !first.fields[i].empty() ? first.fields[i] : std::to_string(i));
  }

  Series series;
  series.source = name;
  const auto positions = iota_positions(fields);
  const std::vector<std::string> all = wanted.empty() ? file_names : wanted;
  for (const auto& spec : all) {
    const int64_t column = find_column(file_names, positions, spec, name);
    const auto& kept = series.file_columns;
    if (std::find(kept.begin(), kept.end(), column) != kept.end()) continue;  // asked for twice
    series.file_columns.push_back(column);
    series.names.push_back(file_names[column]);
  }

  if (!headed) add_row(series, first, fields);
  if (has_second) {
    add_row(series, second, fields);
    CsvLine line;
    while (reader.next(line)) add_row(series, line, fields);
  }
  if (series.rows() == 0) {
    throw CsvError(name + ":" + std::to_string(reader.lines_read() + 1) + ": no data rows after the header");
  }
  return series;
}

Series read_csv_series(const std::string& path, HeaderMode header, const std::vector<std::string>& wanted) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw CsvError(path + ": cannot open the file (does it exist?)");
  return read_csv_series(in, path, header, wanted);
}

void write_series_csv(const Series& series, const std::string& path) {
  std::unique_ptr<FILE, int (*)(FILE*)> out(std::fopen(path.c_str(), "w"), std::fclose);
  if (!out) throw CsvError(path + ": cannot create the file");
  for (int64_t c = 0; c < series.columns(); ++c) {
    std::fprintf(out.get(), "%s%s", c ? "," : "", csv_field(series.names[c]).c_str());
  }
  std::fputc('\n', out.get());
  for (int64_t r = 0; r < series.rows(); ++r) {
    for (int64_t c = 0; c < series.columns(); ++c) std::fprintf(out.get(), "%s%.17g", c ? "," : "", series.at(r, c));
    std::fputc('\n', out.get());
  }
  if (std::ferror(out.get()) || std::fflush(out.get()) != 0) throw CsvError(path + ": write failed");
}

int64_t test_rows_for(int64_t rows, double fraction) {
  return std::clamp<int64_t>(std::llround(fraction * static_cast<double>(rows)), 0, rows);
}

SeriesWindows make_windows(const Series& series, const WindowOptions& options) {
  check_options(series, options);
  const int64_t test_rows = test_rows_for(series.rows(), options.test_fraction);
  const int64_t train_rows = series.rows() - test_rows;
  SeriesWindows windows;
  column_statistics(series, train_rows, options.normalise, windows.mean, windows.std);
  windows.train = cut_windows(series, options, windows, 0, train_rows, options.max_train_windows, "training");
  if (options.test_fraction > 0) {
    windows.test = cut_windows(series, options, windows, train_rows, test_rows, options.max_test_windows, "test");
  }
  return windows;
}

std::vector<std::string> write_windows(const Series& series, const WindowOptions& options, const SeriesWindows& windows,
                                       const std::string& out_prefix, const std::string& source,
                                       const std::function<void(DatasetWriter&)>& annotate) {
  std::vector<std::string> paths{out_prefix + "-train.h5"};
  write_part(series, options, windows, windows.train, paths.back(), source, annotate);
  if (windows.test.count > 0) {
    paths.push_back(out_prefix + "-test.h5");
    write_part(series, options, windows, windows.test, paths.back(), source, annotate);
  }
  return paths;
}

const char* horizon_name(Horizon horizon) { return horizon == Horizon::kEvery ? "every" : "last"; }
const char* normalise_name(Normalise normalise) { return normalise == Normalise::kNone ? "none" : "standard"; }

}  // namespace shardnet::io
