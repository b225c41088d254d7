#pragma once
// IDX files (LeCun's MNIST format), raw or gzip-compressed, and their conversion to HDF5.
// Big-endian: magic 0x00000803 (uint8, 3 dims) / 0x00000801 (uint8, 1 dim), then dims as uint32.
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace shardnet::io {

class IdxError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct IdxArray {
  std::vector<int64_t> dims;
  std::vector<uint8_t> values;
};

// Reads an unsigned-byte IDX file with `expected_dims` dimensions (1 for labels, 3 for images).
IdxArray read_idx(const std::string& path, int expected_dims);

struct MnistConversion {
  int64_t rows = 0;
  int64_t height = 0, width = 0;
};

// Writes images (N, 1, H, W) uint8 and labels (N,) int32 to `out_path`. Labels must be 0..9 and
// as many as the images.
MnistConversion convert_idx_pair(const std::string& images_path, const std::string& labels_path,
                                 const std::string& out_path, int gzip_level = 0);

}  // namespace shardnet::io
