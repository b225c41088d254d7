#include "io/dataset.h"

#include <gtest/gtest.h>

#include "io/dataset_writer.h"
#include "tests/io/test_files.h"

namespace shardnet::io {
namespace {

using testing::expect_error;
using testing::TempDir;

// Rows i have all pixels = i (mod 256) and label i % 3.
void write_sample(const std::string& path, int64_t rows, int gzip = 0) {
  DatasetInfo info{{1, 2, 3}, {"a", "b", "c"}, "test", gzip};
  DatasetWriter writer(path, info);
  for (int64_t first = 0; first < rows; first += 7) {  // appended in uneven blocks
    const int64_t n = std::min<int64_t>(7, rows - first);
    std::vector<uint8_t> data(static_cast<size_t>(n * 6));
    std::vector<int32_t> labels(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) {
      std::fill_n(data.begin() + i * 6, 6, static_cast<uint8_t>((first + i) % 256));
      labels[i] = static_cast<int32_t>((first + i) % 3);
    }
    writer.append(data.data(), labels.data(), n);
  }
  writer.finish();
}

TEST(Dataset, ReadsRowsInTheOrderAsked) {
  TempDir dir;
  for (int gzip : {0, 4}) {
    const std::string path = dir.file("d" + std::to_string(gzip) + ".h5");
    write_sample(path, 50, gzip);
    Dataset data(path);
    EXPECT_EQ(data.size(), 50);
    EXPECT_EQ(data.sample_shape(), Shape({1, 2, 3}));
    EXPECT_EQ(data.num_classes(), 3);
    EXPECT_EQ(data.class_names(), (std::vector<std::string>{"a", "b", "c"}));
    const std::vector<int64_t> rows = {42, 3, 4, 5, 17, 3, 49, 0};
    Batch batch;
    data.read(rows, batch);
    ASSERT_EQ(batch.data.shape(), Shape({8, 1, 2, 3}));
    for (size_t i = 0; i < rows.size(); ++i) {
      EXPECT_FLOAT_EQ(batch.data[static_cast<int64_t>(i) * 6 + 5], static_cast<float>(rows[i]) / 255.0f);
      EXPECT_EQ(batch.labels[i], rows[i] % 3);
    }
  }
}

TEST(Dataset, WriterLeavesNoFileWhenNotFinished) {
  TempDir dir;
  const std::string path = dir.file("unfinished.h5");
  {
    DatasetWriter writer(path, DatasetInfo{{4}, {}, "x", 0});
    const uint8_t d[4] = {1, 2, 3, 4};
    const int32_t l[1] = {0};
    writer.append(d, l, 1);
  }
  EXPECT_FALSE(std::filesystem::exists(path));
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
}

void write_raw(const std::string& path, bool with_label, hsize_t label_rows, int label_value) {
  H5Id file = create_file(path);
  const hsize_t dims[2] = {4, 3};
  std::vector<float> data(12, 0.5f);
  write_float_dataset(file.get(), "/data", {dims[0], dims[1]}, data.data());
  if (with_label) {
    H5Id space(H5Screate_simple(1, &label_rows, nullptr), H5Sclose);
    H5Id ds(H5Dcreate2(file.get(), "/label", H5T_STD_I32LE, space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
            H5Dclose);
    std::vector<int32_t> labels(label_rows, 0);
    labels.back() = label_value;
    H5Dwrite(ds.get(), H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, labels.data());
  }
}

TEST(Dataset, ReportsBadFiles) {
  TempDir dir;
  write_raw(dir.file("nolabel.h5"), false, 0, 0);
  expect_error([&] { Dataset d(dir.file("nolabel.h5")); }, {"nolabel.h5", "no '/label' data set"});
  write_raw(dir.file("short.h5"), true, 3, 0);
  expect_error([&] { Dataset d(dir.file("short.h5")); }, {"short.h5", "/data has 4 rows but /label has 3"});
  write_raw(dir.file("negative.h5"), true, 4, -2);
  expect_error([&] { Dataset d(dir.file("negative.h5")); }, {"negative.h5", "/label row 3 is -2"});
  expect_error([&] { Dataset d(dir.file("missing.h5")); }, {"missing.h5", "cannot open"});
  testing::write_bytes(dir.file("text.h5"), {'h', 'e', 'l', 'l', 'o'});
  expect_error([&] { Dataset d(dir.file("text.h5")); }, {"text.h5", "not an HDF5 file"});
}

TEST(Dataset, FloatDataIsReadAsIs) {
  TempDir dir;
  write_raw(dir.file("f.h5"), true, 4, 1);
  Dataset data(dir.file("f.h5"));
  EXPECT_FALSE(data.data_is_uint8());
  EXPECT_EQ(data.num_classes(), 2);
  Batch batch;
  const int64_t rows[] = {3, 1};
  data.read(rows, batch);
  EXPECT_FLOAT_EQ(batch.data[0], 0.5f);
  EXPECT_EQ(batch.labels[0], 1);
  const int64_t bad[] = {4};
  expect_error([&] { data.read(bad, batch); }, {"f.h5", "row 4 is outside the 4 rows"});
}

}  // namespace
}  // namespace shardnet::io
