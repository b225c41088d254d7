#include "io/prediction_inputs.h"

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <thread>

#include "core/batch.h"
#include "io/dataset.h"
#include "io/image_folder.h"

namespace fs = std::filesystem;

namespace shardnet::io {
namespace {

bool is_hdf5_name(const std::string& path) {
  const std::string ext = fs::path(path).extension().string();
  return ext == ".h5" || ext == ".hdf5";
}

int32_t class_index(const std::vector<std::string>& classes, const std::string& name) {
  const auto it = std::find(classes.begin(), classes.end(), name);
  return it == classes.end() ? -1 : static_cast<int32_t>(it - classes.begin());
}

// Each non-empty line of a text file (trimmed) as an item; a line that is not UTF-8 is an error.
void list_text_file(const std::string& path, const InputPreprocessing& p, InputListing& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    out.errors.push_back(path + ": cannot be read");
    return;
  }
  const int32_t label = class_index(p.classes, class_name_for(path));
  std::string line;
  int64_t number = 0, examples = 0;
  while (std::getline(in, line)) {
    ++number;
    const auto first = line.find_first_not_of(" \t\r\n");
    if (first == std::string::npos) continue;
    line = line.substr(first, line.find_last_not_of(" \t\r\n") - first + 1);
    if (const size_t bad = find_invalid_utf8(line); bad != std::string::npos) {
      out.errors.push_back(path + ":" + std::to_string(number) + ": not UTF-8 (byte " + std::to_string(bad + 1) + ")");
      continue;
    }
    out.items.push_back({InputItem::Source::kTextLine, path, line, number, 0, 0, label});
    ++examples;
  }
  if (examples == 0 && number == 0) out.errors.push_back(path + ": empty");
}

void list_dataset(const std::string& path, const InputPreprocessing& p, int64_t block, InputListing& out) {
  try {
    const Dataset data(path, 0);
    if (data.sample_shape() != p.sample_shape) {
      out.errors.push_back(path + ": rows of shape " + shape_string(data.sample_shape()) + ", the model takes " +
                           shape_string(p.sample_shape));
      return;
    }
    for (int64_t first = 0; first < data.size(); first += block) {
      out.items.push_back(
          {InputItem::Source::kDatasetRows, path, "", 0, first, std::min(data.size(), first + block), -1});
    }
  } catch (const std::exception& e) {
    out.errors.emplace_back(e.what());
  }
}

void list_folder(const std::string& root, InputListing& out, const InputPreprocessing& p) {
  if (p.kind != InputKind::kImage) {
    out.errors.push_back(root + ": a folder (folders are searched for images, and this model takes " +
                         input_kind_name(p.kind) + " inputs)");
    return;
  }
  std::vector<std::string> files;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (it->is_regular_file(ec) && has_image_extension(it->path().filename().string())) files.push_back(it->path());
  }
  if (ec) out.errors.push_back(root + ": " + ec.message());
  if (files.empty()) {
    if (!ec) out.errors.push_back(root + ": no .jpg, .jpeg or .png files in the folder");
    return;
  }
  std::sort(files.begin(), files.end());
  for (const std::string& file : files) {
    const int32_t label = class_index(p.classes, fs::path(file).parent_path().filename().string());
    out.items.push_back({InputItem::Source::kImageFile, file, "", 0, 0, 0, label});
  }
}

void list_file(const std::string& path, const InputPreprocessing& p, int64_t block, InputListing& out) {
  if (is_hdf5_name(path)) return list_dataset(path, p, block, out);
  switch (p.kind) {
    case InputKind::kImage: {
      const int32_t label = class_index(p.classes, fs::path(path).parent_path().filename().string());
      out.items.push_back({InputItem::Source::kImageFile, path, "", 0, 0, 0, label});
      return;
    }
    case InputKind::kText:
      return list_text_file(path, p, out);
    case InputKind::kSeries:
      out.items.push_back({InputItem::Source::kCsvFile, path, "", 0, 0, 0, -1});
      return;
    case InputKind::kTensor:
      out.errors.push_back(path +
                           ": not an HDF5 data set, and the model's training data were not converted from "
                           "images, text or CSV, so there is no recipe for other files");
      return;
  }
}

// Rows of one prepared item, written into the shared PreparedRows in item order.
struct ItemRows {
  std::vector<std::string> names;
  std::vector<int32_t> labels, lengths;
  std::vector<float> data;
  std::optional<std::string> error;
};

void add_image_row(const Image& image, const InputItem& item, ItemRows& rows) {
  const int64_t pixels = image.height * image.width;
  std::vector<uint8_t> planar(static_cast<size_t>(image.channels * pixels));
  for (int64_t c = 0; c < image.channels; ++c) {
    for (int64_t q = 0; q < pixels; ++q) planar[c * pixels + q] = image.pixels[q * image.channels + c];
  }
  rows.data.resize(planar.size());
  bytes_to_unit_floats(planar.data(), static_cast<int64_t>(planar.size()), rows.data.data());
  rows.names.push_back(item.path);
  rows.labels.push_back(item.label);
}

void prepare_image(const InputPreprocessing& p, const InputItem& item, ItemRows& rows) {
  const Shape& s = p.sample_shape;
  add_image_row(read_image_as(item.path, s[0], s[1], s[2]), item, rows);
}

void prepare_text(const InputPreprocessing& p, const Vocabulary& vocab, const InputItem& item, ItemRows& rows) {
  const std::string where = item.path.empty() ? "'" + item.text + "'" : item.path + ":" + std::to_string(item.line);
  if (const size_t bad = find_invalid_utf8(item.text); bad != std::string::npos) {
    rows.error = where + ": not UTF-8 (byte " + std::to_string(bad + 1) + ")";
    return;
  }
  const auto tokens = tokenize(item.text, p.level, p.lowercase);
  if (tokens.empty()) {
    rows.error = where + ": no tokens";
    return;
  }
  const int64_t steps = p.sample_shape[0];
  std::vector<int32_t> ids(static_cast<size_t>(steps));
  const int64_t length = encode_tokens(tokens, vocab, steps, ids.data());
  rows.data.assign(ids.begin(), ids.end());
  rows.lengths.push_back(static_cast<int32_t>(length));
  rows.names.push_back(item.path.empty() ? item.text : where);
  rows.labels.push_back(item.label);
}

void prepare_series(const InputPreprocessing& p, const InputItem& item, ItemRows& rows) {
  const Series series = read_csv_series(item.path, HeaderMode::kAuto, p.columns);
  const int64_t steps = p.sample_shape[0], columns = p.sample_shape[1];
  if (series.rows() < steps) {
    rows.error = item.path + ": " + std::to_string(series.rows()) + " rows, fewer than the model's window of " +
                 std::to_string(steps);
    return;
  }
  for (int64_t start = 0; start + steps <= series.rows(); ++start) {
    for (int64_t t = 0; t < steps; ++t) {
      for (int64_t c = 0; c < columns; ++c) {
        rows.data.push_back(static_cast<float>((series.at(start + t, c) - p.mean[c]) / p.std[c]));
      }
    }
    rows.names.push_back(item.path + ":lines " + std::to_string(series.lines[start]) + "-" +
                         std::to_string(series.lines[start + steps - 1]));
    rows.labels.push_back(-1);
  }
}

void prepare_dataset_rows(Dataset& data, const InputItem& item, ItemRows& rows) {
  std::vector<int64_t> wanted;
  for (int64_t r = item.first_row; r < item.end_row; ++r) wanted.push_back(r);
  Batch batch;
  data.read(wanted, batch);
  rows.data.assign(batch.data.data(), batch.data.data() + batch.data.numel());
  rows.lengths = batch.lengths;
  for (size_t i = 0; i < wanted.size(); ++i) {
    rows.names.push_back(item.path + ":row " + std::to_string(wanted[i]));
    rows.labels.push_back(data.has_class_labels() && i < batch.labels.size() ? batch.labels[i] : -1);
  }
}

}  // namespace

InputListing list_input_items(const InputPreprocessing& preprocessing, const std::vector<std::string>& inputs,
                              const std::vector<std::string>& text_lines, int64_t dataset_block) {
  InputListing out;
  for (const std::string& input : inputs) {
    std::error_code ec;
    const auto status = fs::status(input, ec);
    if (ec || !fs::exists(status)) {
      out.errors.push_back(input + ": no such file or folder");
    } else if (fs::is_directory(status)) {
      list_folder(input, out, preprocessing);
    } else {
      list_file(input, preprocessing, dataset_block, out);
    }
  }
  for (const std::string& line : text_lines) {
    if (preprocessing.kind != InputKind::kText) {
      out.errors.push_back("'" + line + "': text given, but this model takes " +
                           std::string(input_kind_name(preprocessing.kind)) + " inputs");
      continue;
    }
    out.items.push_back({InputItem::Source::kTextLine, "", line, 0, 0, 0, -1});
  }
  return out;
}

PreparedRows prepare_items(const InputPreprocessing& preprocessing, const std::vector<InputItem>& items,
                           int64_t threads) {
  std::vector<ItemRows> prepared(items.size());
  const Vocabulary vocab = Vocabulary::from_tokens(preprocessing.vocab);
  std::map<std::string, std::unique_ptr<Dataset>> datasets;  // opened once each, on this thread
  for (size_t i = 0; i < items.size(); ++i) {
    const InputItem& item = items[i];
    try {
      if (item.source == InputItem::Source::kTextLine) prepare_text(preprocessing, vocab, item, prepared[i]);
      if (item.source == InputItem::Source::kCsvFile) prepare_series(preprocessing, item, prepared[i]);
      if (item.source == InputItem::Source::kDatasetRows) {
        auto& data = datasets[item.path];
        if (!data) data = std::make_unique<Dataset>(item.path, 0);
        prepare_dataset_rows(*data, item, prepared[i]);
      }
    } catch (const std::exception& e) {
      prepared[i].error = e.what();
    }
  }
  // Images: decoded on several threads, each writing its own item's rows.
  std::atomic<size_t> next{0};
  const auto decode = [&] {
    for (size_t i; (i = next++) < items.size();) {
      if (items[i].source != InputItem::Source::kImageFile) continue;
      try {
        prepare_image(preprocessing, items[i], prepared[i]);
      } catch (const std::exception& e) {
        prepared[i].error = e.what();
      }
    }
  };
  std::vector<std::thread> helpers;
  for (int64_t t = 1; t < std::min<int64_t>(threads, static_cast<int64_t>(items.size())); ++t)
    helpers.emplace_back(decode);
  decode();
  for (auto& helper : helpers) helper.join();

  PreparedRows out;
  out.sample_shape = preprocessing.sample_shape;
  for (ItemRows& rows : prepared) {
    if (rows.error) {
      out.errors.push_back(*rows.error);
      continue;
    }
    out.names.insert(out.names.end(), rows.names.begin(), rows.names.end());
    out.labels.insert(out.labels.end(), rows.labels.begin(), rows.labels.end());
    out.data.insert(out.data.end(), rows.data.begin(), rows.data.end());
    out.lengths.insert(out.lengths.end(), rows.lengths.begin(), rows.lengths.end());
  }
  return out;
}

NamedValues regression_outputs(const InputPreprocessing& p, const float* output, int64_t outputs) {
  NamedValues out;
  const auto targets = static_cast<int64_t>(p.target_columns.size());
  if (p.kind == InputKind::kSeries && targets > 0 && outputs % targets == 0) {
    const float* last = output + outputs - targets;  // horizon every: (T, K), the step after the window last
    for (int64_t k = 0; k < targets; ++k) {
      out.names.push_back(p.target_columns[k]);
      out.values.push_back(static_cast<double>(last[k]) * p.target_std[k] + p.target_mean[k]);
    }
    return out;
  }
  for (int64_t j = 0; j < outputs; ++j) {
    out.names.push_back("output " + std::to_string(j));
    out.values.push_back(output[j]);
  }
  return out;
}

}  // namespace shardnet::io
