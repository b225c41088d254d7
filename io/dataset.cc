#include "io/dataset.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "io/hdf5.h"

namespace shardnet::io {
namespace {

enum class Kind { kUint8, kInt32, kFloat32, kOther };

Kind element_kind(hid_t dataset) {
  H5Id type(H5Dget_type(dataset), H5Tclose);
  if (!type.valid()) return Kind::kOther;
  const H5T_class_t cls = H5Tget_class(type.get());
  const size_t size = H5Tget_size(type.get());
  if (cls == H5T_INTEGER && size == 1 && H5Tget_sign(type.get()) == H5T_SGN_NONE) return Kind::kUint8;
  if (cls == H5T_INTEGER && size == 4 && H5Tget_sign(type.get()) == H5T_SGN_2) return Kind::kInt32;
  if (cls == H5T_FLOAT && size == 4) return Kind::kFloat32;
  return Kind::kOther;
}

}  // namespace

void bytes_to_unit_floats(const uint8_t* bytes, int64_t count, float* out) {
  constexpr float kScale = 1.0f / 255.0f;
  for (int64_t j = 0; j < count; ++j) out[j] = static_cast<float>(bytes[j]) * kScale;
}

Dataset::Dataset(const std::string& path, int64_t memory_budget_bytes) : path_(path) {
  try {
    file_ = open_file(path, false);
  } catch (const Hdf5Error& e) {
    throw DatasetError(e.what());
  }
  for (const char* name : {"/data", "/label"}) {
    if (!has_link(file_.get(), name)) {
      throw DatasetError(path + ": no '" + name + "' data set (a shardnet data set has /data and /label)");
    }
  }
  // A chunk cache big enough that random rows from a shuffled epoch mostly hit decoded chunks.
  H5Id dapl(H5Pcreate(H5P_DATASET_ACCESS), H5Pclose);
  h5_check(H5Pset_chunk_cache(dapl.get(), 12421, 64 << 20, 1.0), "H5Pset_chunk_cache");
  data_ = H5Id(h5_check_id(H5Dopen2(file_.get(), "/data", dapl.get()), path + ": cannot open /data"), H5Dclose);
  label_ = H5Id(h5_check_id(H5Dopen2(file_.get(), "/label", H5P_DEFAULT), path + ": cannot open /label"), H5Dclose);

  const auto data_dims = dataset_dims(data_.get(), path + ": /data");
  const auto label_dims = dataset_dims(label_.get(), path + ": /label");
  if (data_dims.size() < 2)
    throw DatasetError(path + ": /data must have a row dimension and a sample shape, e.g. (N, D)");
  if (label_dims.empty()) throw DatasetError(path + ": /label must have one row per sample");
  rows_ = static_cast<int64_t>(data_dims[0]);
  if (rows_ == 0) throw DatasetError(path + ": /data has no rows");
  if (label_dims[0] != data_dims[0]) {
    throw DatasetError(path + ": /data has " + std::to_string(data_dims[0]) + " rows but /label has " +
                       std::to_string(label_dims[0]));
  }
  sample_shape_.assign(data_dims.begin() + 1, data_dims.end());
  target_shape_.assign(label_dims.begin() + 1, label_dims.end());

  switch (element_kind(data_.get())) {
    case Kind::kUint8:
      data_type_ = ElementType::kUint8;
      break;
    case Kind::kInt32:
      data_type_ = ElementType::kInt32;
      break;
    case Kind::kFloat32:
      data_type_ = ElementType::kFloat32;
      break;
    default:
      throw DatasetError(path + ": /data must be uint8, int32 or float32");
  }
  switch (element_kind(label_.get())) {
    case Kind::kInt32:
      if (label_dims.size() != 1) throw DatasetError(path + ": int32 /label must be one class id per row, shape (N,)");
      class_labels_ = true;
      break;
    case Kind::kFloat32:
      class_labels_ = false;
      break;
    default:
      throw DatasetError(path + ": /label must be int32 class ids or float32 targets");
  }
  if (has_attribute(file_.get(), "classes")) {
    class_names_ = read_string_list_attribute(file_.get(), "classes", path);
  }
  if (class_labels_) check_labels();
  if (has_link(file_.get(), "/length")) read_lengths();
  if (has_link(file_.get(), "/vocab")) {
    try {
      vocab_ = read_string_dataset(file_.get(), "/vocab", path);
    } catch (const Hdf5Error& e) {
      throw DatasetError(e.what());
    }
  }
  if (has_link(file_.get(), "/counts")) read_token_counts();
  // In doubles: the product of absurd dimensions must not wrap around to a small size.
  const double row_bytes =
      static_cast<double>(shape_numel(sample_shape_)) * (data_type_ == ElementType::kUint8 ? 1 : 4) +
      static_cast<double>(class_labels_ ? 1 : shape_numel(target_shape_)) * 4;
  if (rows_ > 0 && static_cast<double>(rows_) * row_bytes <= static_cast<double>(memory_budget_bytes))
    load_into_memory();
}

void Dataset::load_into_memory() {
  sorted_.resize(static_cast<size_t>(rows_));
  std::iota(sorted_.begin(), sorted_.end(), int64_t{0});
  const int64_t row_elems = shape_numel(sample_shape_);
  if (data_type_ == ElementType::kUint8) {
    raw_bytes_.resize(static_cast<size_t>(rows_ * row_elems));
    read_rows(data_.get(), H5T_NATIVE_UINT8, sorted_, raw_bytes_.data());
  } else {
    raw_floats_.resize(static_cast<size_t>(rows_ * row_elems));
    read_rows(data_.get(), H5T_NATIVE_FLOAT, sorted_, raw_floats_.data());
    check_finite(raw_floats_, row_elems, "/data");
  }
  if (class_labels_) {
    raw_labels_.resize(static_cast<size_t>(rows_));
    read_rows(label_.get(), H5T_NATIVE_INT32, sorted_, raw_labels_.data());
  } else {
    const int64_t target_elems = shape_numel(target_shape_);
    raw_targets_.resize(static_cast<size_t>(rows_ * target_elems));
    read_rows(label_.get(), H5T_NATIVE_FLOAT, sorted_, raw_targets_.data());
    check_finite(raw_targets_, target_elems, "/label");
  }
  if (length_.valid()) {  // a long file of small rows: its lengths fit too
    lengths_.resize(static_cast<size_t>(rows_));
    read_rows(length_.get(), H5T_NATIVE_INT32, sorted_, lengths_.data());
    for (int64_t row = 0; row < rows_; ++row) check_length(row, lengths_[row]);
    length_.reset();
  }
  sorted_.clear();
  in_memory_ = true;
}

void Dataset::check_finite(const std::vector<float>& values, int64_t row_elems, const char* dataset) const {
  // Rows in sorted_ order, as read; a NaN or infinity would surface as "training diverged" at
  // whatever step drew the row.
  for (size_t i = 0; i < values.size(); ++i) {
    if (std::isfinite(values[i])) continue;
    const size_t row = i / static_cast<size_t>(row_elems);
    throw DatasetError(path_ + ": " + dataset + " row " + std::to_string(sorted_[row]) + " holds " +
                       std::to_string(values[i]) + " (element " + std::to_string(i % row_elems) + ")");
  }
}

void Dataset::read_lengths() {
  H5Id length(h5_check_id(H5Dopen2(file_.get(), "/length", H5P_DEFAULT), path_ + ": cannot open /length"), H5Dclose);
  const auto dims = dataset_dims(length.get(), path_ + ": /length");
  if (dims.size() != 1 || static_cast<int64_t>(dims[0]) != rows_) {
    throw DatasetError(path_ + ": /length must hold one length per row of /data, shape (" + std::to_string(rows_) +
                       ",)");
  }
  H5Id type(h5_check_id(H5Dget_type(length.get()), path_ + ": /length"), H5Tclose);
  if (H5Tget_class(type.get()) != H5T_INTEGER) throw DatasetError(path_ + ": /length must be int32");
  if (rows_ > kScanRows) {  // read with each batch
    length_ = std::move(length);
    return;
  }
  lengths_.resize(static_cast<size_t>(rows_));
  h5_check(H5Dread(length.get(), H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, lengths_.data()),
           path_ + ": cannot read /length");
  for (int64_t row = 0; row < rows_; ++row) check_length(row, lengths_[row]);
}

void Dataset::check_length(int64_t row, int32_t value) const {
  const int64_t steps = sample_shape_[0];
  if (value >= 1 && value <= steps) return;
  const std::string entry = path_ + ": /length[" + std::to_string(row) + "] = " + std::to_string(value);
  if (value < 1) throw DatasetError(entry + " is less than 1 (every sequence has at least one step)");
  throw DatasetError(entry + " is larger than the " + std::to_string(steps) + " steps of /data");
}

void Dataset::check_label(int64_t row, int32_t value) const {
  if (value >= 0 && (num_classes_ == 0 || value < num_classes_)) return;
  throw DatasetError(path_ + ": /label row " + std::to_string(row) + " is " + std::to_string(value) +
                     (value < 0
                          ? ": class ids must be >= 0"
                          : ", outside the " + std::to_string(num_classes_) + " classes of the 'classes' attribute"));
}

void Dataset::check_labels() {
  if (rows_ > kScanRows) {
    if (class_names_.empty()) {
      throw DatasetError(path_ + ": /data has " + std::to_string(rows_) +
                         " rows and the file no 'classes' attribute: counting the classes would read every label "
                         "at open; name the classes in a 'classes' attribute (one string per class id)");
    }
    num_classes_ = static_cast<int64_t>(class_names_.size());  // each batch's labels are checked as read
    return;
  }
  // One pass over the labels (4 bytes a row), in blocks, so that a bad id is reported up front
  // with its row instead of surfacing mid-training.
  constexpr int64_t kBlock = 1 << 20;
  std::vector<int32_t> block;
  int32_t max_label = -1;
  for (int64_t first = 0; first < rows_; first += kBlock) {
    const int64_t count = std::min(kBlock, rows_ - first);
    block.resize(static_cast<size_t>(count));
    const hsize_t start = static_cast<hsize_t>(first), n = static_cast<hsize_t>(count);
    H5Id file_space(H5Dget_space(label_.get()), H5Sclose);
    h5_check(H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, &start, nullptr, &n, nullptr), "select");
    H5Id mem_space(H5Screate_simple(1, &n, nullptr), H5Sclose);
    h5_check(H5Dread(label_.get(), H5T_NATIVE_INT32, mem_space.get(), file_space.get(), H5P_DEFAULT, block.data()),
             path_ + ": cannot read /label");
    for (int64_t i = 0; i < count; ++i) {
      const int32_t v = block[i];
      const bool out_of_range = v < 0 || (!class_names_.empty() && v >= static_cast<int64_t>(class_names_.size()));
      if (out_of_range) {
        throw DatasetError(path_ + ": /label row " + std::to_string(first + i) + " is " + std::to_string(v) +
                           (class_names_.empty() ? ": class ids must be >= 0"
                                                 : ", outside the " + std::to_string(class_names_.size()) +
                                                       " classes of the 'classes' attribute"));
      }
      max_label = std::max(max_label, v);
    }
  }
  num_classes_ = class_names_.empty() ? int64_t{max_label} + 1 : static_cast<int64_t>(class_names_.size());
}

void Dataset::read_rows(hid_t dataset, hid_t mem_type, const std::vector<int64_t>& sorted_rows, void* out) const {
  H5Id file_space(h5_check_id(H5Dget_space(dataset), path_), H5Sclose);
  const int rank = H5Sget_simple_extent_ndims(file_space.get());
  std::vector<hsize_t> dims(static_cast<size_t>(rank));
  H5Sget_simple_extent_dims(file_space.get(), dims.data(), nullptr);
  std::vector<hsize_t> start(dims.size(), 0), count(dims);
  h5_check(H5Sselect_none(file_space.get()), "H5Sselect_none");
  // Runs of consecutive rows become one block each.
  for (size_t i = 0; i < sorted_rows.size();) {
    size_t j = i + 1;
    while (j < sorted_rows.size() && sorted_rows[j] == sorted_rows[j - 1] + 1) ++j;
    start[0] = static_cast<hsize_t>(sorted_rows[i]);
    count[0] = j - i;
    h5_check(H5Sselect_hyperslab(file_space.get(), H5S_SELECT_OR, start.data(), nullptr, count.data(), nullptr),
             path_ + ": selecting rows");
    i = j;
  }
  // The memory space has the file's shape (the rows read, then the sample's dimensions): with any
  // other shape HDF5 maps the selection element by element (8 s instead of 0.1 s for CIFAR-10's
  // 138 MB), with this one it copies whole chunks' rows.
  std::vector<hsize_t> mem_dims(dims);
  mem_dims[0] = sorted_rows.size();
  H5Id mem_space(h5_check_id(H5Screate_simple(rank, mem_dims.data(), nullptr), "H5Screate_simple"), H5Sclose);
  h5_check(H5Dread(dataset, mem_type, mem_space.get(), file_space.get(), H5P_DEFAULT, out),
           path_ + ": cannot read rows");
}

void Dataset::read(std::span<const int64_t> rows, Batch& batch) {
  const int64_t n = static_cast<int64_t>(rows.size());
  const int64_t row_elems = shape_numel(sample_shape_);
  for (int64_t r : rows) {
    if (r < 0 || r >= rows_) {
      throw DatasetError(path_ + ": row " + std::to_string(r) + " is outside the " + std::to_string(rows_) + " rows");
    }
  }
  position_.resize(rows.size());
  if (in_memory_) {
    std::copy(rows.begin(), rows.end(), position_.begin());
  } else {
    // HDF5 wants the selection in file order: read sorted unique rows, then place them.
    sorted_.assign(rows.begin(), rows.end());
    std::sort(sorted_.begin(), sorted_.end());
    sorted_.erase(std::unique(sorted_.begin(), sorted_.end()), sorted_.end());
    for (size_t i = 0; i < rows.size(); ++i) {
      position_[i] = static_cast<size_t>(std::lower_bound(sorted_.begin(), sorted_.end(), rows[i]) - sorted_.begin());
    }
  }

  Shape shape{n};
  shape.insert(shape.end(), sample_shape_.begin(), sample_shape_.end());
  batch.data.reshape(shape);
  if (data_type_ == ElementType::kUint8) {
    if (!in_memory_) {
      raw_bytes_.resize(sorted_.size() * static_cast<size_t>(row_elems));
      read_rows(data_.get(), H5T_NATIVE_UINT8, sorted_, raw_bytes_.data());
    }
    for (int64_t i = 0; i < n; ++i) {
      bytes_to_unit_floats(raw_bytes_.data() + position_[i] * row_elems, row_elems, batch.data.data() + i * row_elems);
    }
  } else {
    // int32 token ids are converted to float by HDF5 itself (the memory type is float).
    if (!in_memory_) {
      raw_floats_.resize(sorted_.size() * static_cast<size_t>(row_elems));
      read_rows(data_.get(), H5T_NATIVE_FLOAT, sorted_, raw_floats_.data());
      check_finite(raw_floats_, row_elems, "/data");
    }
    for (int64_t i = 0; i < n; ++i) {
      std::copy_n(raw_floats_.data() + position_[i] * row_elems, row_elems, batch.data.data() + i * row_elems);
    }
  }

  batch.lengths.clear();
  if (!lengths_.empty()) {
    batch.lengths.resize(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) batch.lengths[i] = lengths_[static_cast<size_t>(rows[i])];
  } else if (length_.valid()) {
    raw_lengths_.resize(sorted_.size());
    read_rows(length_.get(), H5T_NATIVE_INT32, sorted_, raw_lengths_.data());
    batch.lengths.resize(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) {
      batch.lengths[i] = raw_lengths_[position_[i]];
      check_length(rows[i], batch.lengths[i]);
    }
  }

  if (class_labels_) {
    if (!in_memory_) {
      raw_labels_.resize(sorted_.size());
      read_rows(label_.get(), H5T_NATIVE_INT32, sorted_, raw_labels_.data());
    }
    batch.labels.resize(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) {
      batch.labels[i] = raw_labels_[position_[i]];
      if (rows_ > kScanRows) check_label(rows[i], batch.labels[i]);  // not scanned at open
    }
  } else {
    const int64_t target_elems = shape_numel(target_shape_);
    if (!in_memory_) {
      raw_targets_.resize(sorted_.size() * static_cast<size_t>(target_elems));
      read_rows(label_.get(), H5T_NATIVE_FLOAT, sorted_, raw_targets_.data());
      check_finite(raw_targets_, target_elems, "/label");
    }
    Shape tshape{n};
    tshape.insert(tshape.end(), target_shape_.begin(), target_shape_.end());
    batch.targets.reshape(tshape);
    for (int64_t i = 0; i < n; ++i) {
      std::copy_n(raw_targets_.data() + position_[i] * target_elems, target_elems,
                  batch.targets.data() + i * target_elems);
    }
  }
}

void Dataset::read_token_counts() {
  if (vocab_.empty()) throw DatasetError(path_ + ": /counts without a /vocab to count");
  token_counts_.resize(vocab_.size());
  try {
    read_float_dataset(file_.get(), "/counts", {vocab_.size()}, token_counts_.data(), path_);
  } catch (const Hdf5Error& e) {
    throw DatasetError(std::string(e.what()) + " (/counts needs one count per /vocab entry, " +
                       std::to_string(vocab_.size()) + ")");
  }
  for (size_t i = 0; i < token_counts_.size(); ++i) {
    if (!(token_counts_[i] >= 0.0f) || !std::isfinite(token_counts_[i])) {
      throw DatasetError(path_ + ": /counts row " + std::to_string(i) + " is " + std::to_string(token_counts_[i]) +
                         " (counts must be finite and >= 0)");
    }
  }
}

DataDescription Dataset::description() const {
  return DataDescription{path_,        sample_shape_, class_labels_,
                         num_classes_, target_shape_, static_cast<int64_t>(vocab_.size()),
                         token_counts_};
}

}  // namespace shardnet::io
