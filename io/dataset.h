#pragma once
// Reader for shardnet's HDF5 data set layout (the names Caffe's HDF5 data layer made familiar):
//   /data   (N, ...) uint8, int32 or float32; uint8 is scaled to [0, 1] on reading, int32 (token
//           ids) is delivered as float (exact below 2^24)
//   /label  (N,) int32 class ids, or (N, ...) float32 regression targets
//   /length (N,) int32, optional: true lengths of the padded sequences in /data (N, T, ...),
//           each in [1, T]; read whole and checked at open, handed out in Batch::lengths
//   /vocab  (V,) strings, optional: the token of each id
// Only the rows asked for are read (one hyperslab selection per batch); the file is never loaded
// whole. All problems are reported as DatasetError naming the file and the data set.
#include <string>
#include <vector>

#include "core/batch_source.h"
#include "io/dataset_writer.h"
#include "io/h5_handle.h"

namespace shardnet::io {

class DatasetError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// uint8 data as the model sees it: each byte / 255, on [0, 1].
void bytes_to_unit_floats(const uint8_t* bytes, int64_t count, float* out);

class Dataset : public BatchSource {
 public:
  // A data set of at most `memory_budget_bytes` (rows and labels as held in memory: uint8 images as
  // bytes, the rest as floats) is read whole when opened and served from memory: a batch of random
  // rows then costs a copy, not an HDF5 selection of each row (1.75 ms per batch of 64 MNIST
  // images, longer than the MLP's whole training step). Larger ones are read batch by batch.
  static constexpr int64_t kDefaultMemoryBudget = int64_t{1} << 30;
  // Up to this many rows, the labels are scanned once at open (bad ids reported up front, the class
  // count found) and /length is read whole; past it nothing at open grows with the row count:
  // labels and lengths are checked as each batch is read, and the file must name its classes.
  static constexpr int64_t kScanRows = int64_t{1} << 26;
  explicit Dataset(const std::string& path, int64_t memory_budget_bytes = kDefaultMemoryBudget);

  int64_t size() const override { return rows_; }
  Shape sample_shape() const override { return sample_shape_; }
  void read(std::span<const int64_t> rows, Batch& batch) override;

  const std::string& path() const { return path_; }
  // What the model is checked against (Net::check_data).
  DataDescription description() const;
  bool has_class_labels() const { return class_labels_; }
  // Number of classes: the "classes" attribute's length, or else the largest label + 1.
  int64_t num_classes() const { return num_classes_; }
  const std::vector<std::string>& class_names() const { return class_names_; }
  Shape target_shape() const { return target_shape_; }
  bool data_is_uint8() const { return data_type_ == ElementType::kUint8; }
  ElementType data_type() const { return data_type_; }
  bool has_lengths() const { return !lengths_.empty() || length_.valid(); }
  bool in_memory() const { return in_memory_; }
  // Steps per sequence: /data's dimension 1.
  int64_t steps() const { return sample_shape_.empty() ? 0 : sample_shape_[0]; }
  // The tokens of /vocab (empty when the file has none).
  const std::vector<std::string>& vocab() const { return vocab_; }

 private:
  void check_labels();
  void read_token_counts();
  void check_label(int64_t row, int32_t value) const;
  void check_length(int64_t row, int32_t value) const;
  // Throws DatasetError naming the row of the first NaN or infinity in `values` (rows of sorted_).
  void check_finite(const std::vector<float>& values, int64_t row_elems, const char* dataset) const;
  void read_lengths();
  // Reads rows (sorted, unique) of `dataset` into `out`, one after the other, as `mem_type`.
  void read_rows(hid_t dataset, hid_t mem_type, const std::vector<int64_t>& sorted_rows, void* out) const;
  void load_into_memory();

  std::string path_;
  H5Id file_, data_, label_;
  int64_t rows_ = 0;
  Shape sample_shape_, target_shape_;
  ElementType data_type_ = ElementType::kFloat32;
  bool class_labels_ = true;
  int64_t num_classes_ = 0;
  std::vector<std::string> class_names_;
  std::vector<int32_t> lengths_;  // one per row, or empty (past kScanRows: read per batch from length_)
  H5Id length_;
  std::vector<int32_t> raw_lengths_;
  std::vector<std::string> vocab_;
  std::vector<float> token_counts_;  // /counts, when the file has one
  // Rows, labels and targets, either the whole data set (in_memory_) or the last batch's sorted rows.
  bool in_memory_ = false;
  std::vector<int64_t> sorted_;
  std::vector<size_t> position_;  // batch row i is row position_[i] of the buffers below
  std::vector<uint8_t> raw_bytes_;
  std::vector<float> raw_floats_;
  std::vector<float> raw_targets_;
  std::vector<int32_t> raw_labels_;
};

}  // namespace shardnet::io
