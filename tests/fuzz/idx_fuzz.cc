// IDX files (MNIST's format), as bytes on disk: read as an image file and as a label file.
#include "io/idx.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path = shardnet::fuzz::scratch_path("idx");
  shardnet::fuzz::write_file(path, data, size);
  for (int dims : {1, 3}) shardnet::fuzz::expect_clean_errors([&] { shardnet::io::read_idx(path, dims); });
  return 0;
}
