#pragma once
// Writes a data set in shardnet's layout, row block by row block, to "<path>.tmp" and renames it
// into place on finish(): an interrupted conversion never leaves a half-written file under the
// real name. /data is chunked by rows (optionally gzip-compressed); /label is int32 class ids.
#include <string>
#include <vector>

#include "core/tensor.h"
#include "io/hdf5.h"

namespace shardnet::io {

struct DatasetInfo {
  Shape sample_shape;                // per-row shape of /data
  std::vector<std::string> classes;  // class names, in label order (may be empty)
  std::string source;                // what the data were converted from
  int gzip_level = 0;                // 0: no compression
};

class DatasetWriter {
 public:
  DatasetWriter(std::string path, DatasetInfo info);
  ~DatasetWriter();  // removes the temporary file if finish() was not called
  DatasetWriter(const DatasetWriter&) = delete;
  DatasetWriter& operator=(const DatasetWriter&) = delete;

  // Appends rows: `data` holds rows * prod(sample_shape) bytes.
  void append(const uint8_t* data, const int32_t* labels, int64_t rows);
  void finish();
  int64_t rows() const { return rows_; }

 private:
  std::string path_, tmp_path_;
  DatasetInfo info_;
  H5Id file_, data_, label_;
  int64_t rows_ = 0;
  bool finished_ = false;
};

}  // namespace shardnet::io
