#pragma once
// Writes a data set in shardnet's layout, row block by row block, to "<path>.tmp" and renames it
// into place on finish(): an interrupted conversion never leaves a half-written file under the
// real name. /data is chunked by rows (optionally gzip-compressed) and is uint8, int32 (token ids)
// or float32; /label is int32 class ids (N,) or float32 targets (N, ...); /length (N,) int32 and
// /vocab (V,) strings are optional. Each data set is appended on its own; finish() checks that
// they all got the same number of rows.
#include <string>
#include <vector>

#include "core/tensor.h"
#include "io/h5_handle.h"

namespace shardnet::io {

enum class ElementType { kUint8, kInt32, kFloat32 };
enum class LabelType { kClassIds, kTargets };

const char* element_type_name(ElementType type);

struct DatasetInfo {
  Shape sample_shape;                // per-row shape of /data
  std::vector<std::string> classes;  // class names, in label order (may be empty)
  std::string source;                // what the data were converted from
  int gzip_level = 0;                // 0: no compression
  ElementType data_type = ElementType::kUint8;
  LabelType label_type = LabelType::kClassIds;
  Shape target_shape{};      // per-row shape of float32 targets (LabelType::kTargets)
  bool has_lengths = false;  // writes /length (N,) int32
};

class DatasetWriter {
 public:
  DatasetWriter(std::string path, DatasetInfo info);
  ~DatasetWriter();  // removes the temporary file if finish() was not called
  DatasetWriter(const DatasetWriter&) = delete;
  DatasetWriter& operator=(const DatasetWriter&) = delete;

  // Appends rows of uint8 data and their class ids: `data` holds rows * prod(sample_shape) bytes.
  void append(const uint8_t* data, const int32_t* labels, int64_t rows);

  // Each appends `rows` rows to one data set; the element type must be the one `info` declared.
  void append_data(const uint8_t* data, int64_t rows);
  void append_data(const int32_t* data, int64_t rows);
  void append_data(const float* data, int64_t rows);
  void append_class_ids(const int32_t* labels, int64_t rows);
  void append_targets(const float* targets, int64_t rows);  // rows * prod(target_shape) values
  void append_lengths(const int32_t* lengths, int64_t rows);

  void write_vocab(const std::vector<std::string>& tokens);  // /vocab (V,) UTF-8 strings
  // A 1-d float32 data set of its own (e.g. /counts of a vocabulary's words).
  void write_float_array(const std::string& name, const std::vector<float>& values);

  // Extra attributes on "/" (e.g. per-column mean and std of a normalised series).
  void set_string_attribute(const std::string& name, const std::string& value);
  void set_int_attribute(const std::string& name, int64_t value);
  void set_float_list_attribute(const std::string& name, const std::vector<double>& values);
  void set_string_list_attribute(const std::string& name, const std::vector<std::string>& values);

  void finish();
  int64_t rows() const { return data_rows_; }
  const std::string& path() const { return path_; }

 private:
  void append_data_as(ElementType type, hid_t mem_type, const void* data, int64_t rows);

  std::string path_, tmp_path_;
  DatasetInfo info_;
  H5Id file_, data_, label_, length_;
  int64_t data_rows_ = 0, label_rows_ = 0, length_rows_ = 0;
  bool finished_ = false;
};

}  // namespace shardnet::io
