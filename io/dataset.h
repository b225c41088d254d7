#pragma once
// Reader for shardnet's HDF5 data set layout (the names Caffe's HDF5 data layer made familiar):
//   /data   (N, ...) uint8 or float32; uint8 is scaled to [0, 1] on reading
//   /label  (N,) int32 class ids, or (N, ...) float32 regression targets
// Only the rows asked for are read (one hyperslab selection per batch); the file is never loaded
// whole. All problems are reported as DatasetError naming the file and the data set.
#include <string>
#include <vector>

#include "core/trainer.h"
#include "io/hdf5.h"

namespace shardnet::io {

class DatasetError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Dataset : public BatchSource {
 public:
  explicit Dataset(const std::string& path);

  int64_t size() const override { return rows_; }
  Shape sample_shape() const override { return sample_shape_; }
  void read(std::span<const int64_t> rows, Batch& batch) override;

  const std::string& path() const { return path_; }
  bool has_class_labels() const { return class_labels_; }
  // Number of classes: the "classes" attribute's length, or else the largest label + 1.
  int64_t num_classes() const { return num_classes_; }
  const std::vector<std::string>& class_names() const { return class_names_; }
  Shape target_shape() const { return target_shape_; }
  bool data_is_uint8() const { return uint8_; }

 private:
  void check_labels();
  // Reads rows (sorted, unique) of `dataset` into `out`, `row_bytes` each, as `mem_type`.
  void read_rows(hid_t dataset, hid_t mem_type, const std::vector<int64_t>& sorted_rows, int64_t row_elems,
                 void* out) const;

  std::string path_;
  H5Id file_, data_, label_;
  int64_t rows_ = 0;
  Shape sample_shape_, target_shape_;
  bool uint8_ = false;
  bool class_labels_ = true;
  int64_t num_classes_ = 0;
  std::vector<std::string> class_names_;
  // Scratch, reused between reads.
  std::vector<int64_t> sorted_;
  std::vector<size_t> position_;
  std::vector<uint8_t> raw_bytes_;
  std::vector<float> raw_floats_;
  std::vector<int32_t> raw_labels_;
};

}  // namespace shardnet::io
