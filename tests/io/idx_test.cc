#include "io/idx.h"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <zlib.h>

#include "io/dataset.h"
#include "tests/io/test_files.h"

namespace shardnet::io {
namespace {

using testing::expect_error;
using testing::TempDir;
using testing::write_bytes;

std::vector<uint8_t> idx_header(uint8_t dims, const std::vector<uint32_t>& sizes) {
  std::vector<uint8_t> out = {0, 0, 0x08, dims};
  for (uint32_t s : sizes) {
    out.push_back(static_cast<uint8_t>(s >> 24));
    out.push_back(static_cast<uint8_t>(s >> 16));
    out.push_back(static_cast<uint8_t>(s >> 8));
    out.push_back(static_cast<uint8_t>(s));
  }
  return out;
}

std::vector<uint8_t> images(uint32_t n) {
  auto bytes = idx_header(3, {n, 2, 2});
  for (uint32_t i = 0; i < n * 4; ++i) bytes.push_back(static_cast<uint8_t>(i));
  return bytes;
}

std::vector<uint8_t> labels(std::vector<uint8_t> values) {
  auto bytes = idx_header(1, {static_cast<uint32_t>(values.size())});
  bytes.insert(bytes.end(), values.begin(), values.end());
  return bytes;
}

void write_gz(const std::string& path, const std::vector<uint8_t>& bytes) {
  gzFile f = gzopen(path.c_str(), "wb");
  gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size()));
  gzclose(f);
}

TEST(Idx, ConvertsRawAndGzipped) {
  TempDir dir;
  write_bytes(dir.file("img"), images(3));
  write_gz(dir.file("lab.gz"), labels({7, 0, 9}));
  const auto c = convert_idx_pair(dir.file("img"), dir.file("lab.gz"), dir.file("out.h5"));
  EXPECT_EQ(c.rows, 3);
  Dataset data(dir.file("out.h5"));
  EXPECT_EQ(data.sample_shape(), Shape({1, 2, 2}));
  EXPECT_EQ(data.num_classes(), 10);
  Batch batch;
  const int64_t rows[] = {2, 0};
  data.read(rows, batch);
  EXPECT_EQ(batch.labels, (std::vector<int32_t>{9, 7}));
  EXPECT_FLOAT_EQ(batch.data[0], 8.0f / 255.0f);
}

TEST(Idx, ReportsMalformedInput) {
  TempDir dir;
  auto truncated = images(3);
  truncated.resize(truncated.size() - 5);
  write_bytes(dir.file("trunc"), truncated);
  expect_error([&] { read_idx(dir.file("trunc"), 3); }, {"trunc", "truncated", "promises 12 bytes", "found 7"});
  write_bytes(dir.file("header"), {0, 0, 8});
  expect_error([&] { read_idx(dir.file("header"), 3); }, {"header", "truncated"});
  write_bytes(dir.file("magic"), {0x1f, 0x00, 0x08, 0x03});
  expect_error([&] { read_idx(dir.file("magic"), 3); }, {"magic", "bad magic"});
  write_bytes(dir.file("lab"), labels({1, 2}));
  expect_error([&] { read_idx(dir.file("lab"), 3); }, {"lab", "has 1 dimensions, expected 3"});
  write_bytes(dir.file("img"), images(3));
  expect_error([&] { convert_idx_pair(dir.file("img"), dir.file("lab"), dir.file("o.h5")); },
               {"has 2 labels but", "has 3 images"});
  write_bytes(dir.file("lab3"), labels({1, 12, 2}));
  expect_error([&] { convert_idx_pair(dir.file("img"), dir.file("lab3"), dir.file("o.h5")); },
               {"lab3", "label 12 at index 1 is out of range"});
  expect_error([&] { read_idx(dir.file("nothere"), 1); }, {"nothere", "cannot open"});
  EXPECT_FALSE(std::filesystem::exists(dir.file("o.h5")));
}

// Peak resident memory of this process so far, in MiB.
int64_t peak_rss_mib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss / 1024;
}

TEST(Idx, AHeaderThatPromisesTooMuchCostsNoMemory) {
  TempDir dir;
  // 16 bytes claiming 2^20 x 2^10 x 2^10 = 1 TiB of pixels: once allocated before the truncation check.
  write_bytes(dir.file("tib"), idx_header(3, {1u << 20, 1u << 10, 1u << 10}));
  const int64_t before = peak_rss_mib();
  expect_error([&] { read_idx(dir.file("tib"), 3); }, {"tib", "truncated", "promises 1099511627776 bytes", "found 0"});
  EXPECT_LT(peak_rss_mib() - before, 100) << "MiB allocated for a 16-byte file";
  // Products past 2^40 are refused before they are formed (4 x 2^32 - 1 each: 2^96 would wrap).
  write_bytes(dir.file("wrap"), idx_header(3, {0xffffffffu, 0xffffffffu, 0xffffffffu}));
  expect_error([&] { read_idx(dir.file("wrap"), 3); }, {"wrap", "implausible IDX dimensions"});
}

}  // namespace
}  // namespace shardnet::io
