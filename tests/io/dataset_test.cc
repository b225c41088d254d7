#include "io/dataset.h"

#include <gtest/gtest.h>
#include <sys/resource.h>

#include <chrono>
#include <cmath>
#include <cstdio>

#include "core/model_file.h"
#include "core/trainer.h"
#include "io/dataset_writer.h"
#include "io/hdf5.h"
#include "tests/best_seconds.h"
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
    // Streamed from the file (no memory budget) and served from memory: the same batches.
    for (int64_t budget : {int64_t{0}, Dataset::kDefaultMemoryBudget}) {
      Dataset data(path, budget);
      EXPECT_EQ(data.in_memory(), budget > 0);
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
}

// `rows` uint8 images of `shape`, each filled with its row number (mod 256).
void write_images(const std::string& path, const Shape& shape, int64_t rows) {
  DatasetWriter writer(path, DatasetInfo{shape, {"a", "b"}, "test", 0});
  const int64_t size = shape_numel(shape);
  std::vector<uint8_t> data(static_cast<size_t>(size));
  for (int64_t r = 0; r < rows; ++r) {
    std::fill(data.begin(), data.end(), static_cast<uint8_t>(r % 256));
    const int32_t label = static_cast<int32_t>(r % 2);
    writer.append(data.data(), &label, 1);
  }
  writer.finish();
}

double seconds_to_load(const std::string& path) {
  return best_seconds(3, [&] {
    const Dataset data(path);
    EXPECT_TRUE(data.in_memory());
  });
}

TEST(Dataset, ImagesLoadAsFastAsFlatRowsOfTheSameBytes) {
  // A memory space of another shape than the file's made HDF5 map every element on its own: CIFAR-10's
  // (45000, 3, 32, 32) took 8 s to load, 20x its flat (45000, 3072) twin. A ratio, not a time, so
  // that it holds on any machine.
  TempDir dir;
  const int64_t rows = 4000;
  write_images(dir.file("images.h5"), {3, 32, 32}, rows);
  write_images(dir.file("flat.h5"), {3 * 32 * 32}, rows);
  const double images = seconds_to_load(dir.file("images.h5")), flat = seconds_to_load(dir.file("flat.h5"));
  EXPECT_LT(images, 4 * flat + 0.02) << images << " s for (3, 32, 32) rows, " << flat << " s for the same flat";
  Batch batch;
  Dataset(dir.file("images.h5")).read(std::vector<int64_t>{rows - 1, 5}, batch);
  EXPECT_FLOAT_EQ(batch.data[3 * 32 * 32 - 1], static_cast<float>((rows - 1) % 256) / 255.0f);
  EXPECT_FLOAT_EQ(batch.data[3 * 32 * 32], 5.0f / 255.0f);
}

TEST(Dataset, MemoryBudgetCountsRowsAndLabels) {
  TempDir dir;
  const std::string path = dir.file("d.h5");
  write_sample(path, 50, 0);
  // 50 rows x (6 bytes + a 4-byte label) = 500 bytes.
  EXPECT_TRUE(Dataset(path, 500).in_memory());
  EXPECT_FALSE(Dataset(path, 499).in_memory());
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
  {  // once scored as "test accuracy 0.00% (0/0)"
    DatasetWriter writer(dir.file("empty.h5"), DatasetInfo{{4}, {}, "x", 0});
    writer.finish();
  }
  expect_error([&] { Dataset d(dir.file("empty.h5")); }, {"empty.h5", "/data has no rows"});
}

TEST(Dataset, FloatDataIsReadAsIs) {
  TempDir dir;
  write_raw(dir.file("f.h5"), true, 4, 1);
  for (int64_t budget : {int64_t{0}, Dataset::kDefaultMemoryBudget}) {
    Dataset data(dir.file("f.h5"), budget);
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
}

TEST(Dataset, NanOrInfinityIsReportedWithItsRowNotAsDivergence) {
  TempDir dir;
  for (const bool in_targets : {false, true}) {
    const std::string path = dir.file(in_targets ? "t.h5" : "d.h5");
    DatasetInfo info;
    info.sample_shape = {3};
    info.data_type = ElementType::kFloat32;
    info.label_type = in_targets ? LabelType::kTargets : LabelType::kClassIds;
    info.target_shape = {2};
    DatasetWriter writer(path, info);
    std::vector<float> data(12, 0.5f), targets(8, 0.25f);
    (in_targets ? targets[2 * 2 + 1] : data[2 * 3 + 1]) = in_targets ? -INFINITY : NAN;  // row 2
    const std::vector<int32_t> labels = {0, 1, 0, 1};
    writer.append_data(data.data(), 4);
    if (in_targets)
      writer.append_targets(targets.data(), 4);
    else
      writer.append_class_ids(labels.data(), 4);
    writer.finish();
    const std::string where = in_targets ? "/label row 2 holds -inf (element 1)" : "/data row 2 holds nan (element 1)";
    expect_error([&] { Dataset d(path); }, {path, where});  // read whole at open: found there
    Dataset streamed(path, 0);                              // batch by batch: found in the batch that has it
    Batch batch;
    const int64_t good[] = {0, 3}, bad[] = {1, 2};
    EXPECT_NO_THROW(streamed.read(good, batch));
    expect_error([&] { streamed.read(bad, batch); }, {path, where});
  }
}

// Replaces attribute `name` on "/" by fixed-length strings of `size` bytes (h5py's `S` dtype: null
// padded, no terminator when a string fills its size).
void write_fixed_strings(const std::string& path, const char* name, const std::vector<std::string>& values,
                         size_t size) {
  H5Id file = open_file(path, true);
  H5Adelete(file.get(), name);
  H5Id type(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(type.get(), size);
  H5Tset_strpad(type.get(), H5T_STR_NULLPAD);
  const hsize_t n = values.size();
  H5Id space(H5Screate_simple(1, &n, nullptr), H5Sclose);
  std::vector<char> buffer(values.size() * size, '\0');
  for (size_t i = 0; i < values.size(); ++i) std::copy_n(values[i].data(), values[i].size(), &buffer[i * size]);
  H5Id attr(H5Acreate2(file.get(), name, type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
  H5Awrite(attr.get(), type.get(), buffer.data());
}

TEST(Dataset, ReadsFixedLengthStringAttributesAsH5pyWritesThem) {
  TempDir dir;
  const std::string path = dir.file("s.h5");
  write_sample(path, 9);
  write_fixed_strings(path, "classes", {"a", "bb", "ccc"}, 3);  // "ccc" fills its 3 bytes
  EXPECT_EQ(Dataset(path).class_names(), (std::vector<std::string>{"a", "bb", "ccc"}));
  // A list where one string is expected: refused (reading it once wrote past the one string).
  write_fixed_strings(path, "format", {"shardnet-dataset", "x"}, 16);
  H5Id file = open_file(path, false);
  expect_error([&] { read_string_attribute(file.get(), "format", path); }, {path, "holds 2 strings, expected one"});
}

// Token-id rows: row i holds ids i, i+1, ... for its first length(i) = 1 + i % steps steps, then 0.
void write_tokens(const std::string& path, int64_t rows, int64_t steps, std::vector<int32_t> lengths = {}) {
  if (lengths.empty()) {
    for (int64_t i = 0; i < rows; ++i) lengths.push_back(static_cast<int32_t>(1 + i % steps));
  }
  DatasetInfo info;
  info.sample_shape = {steps};
  info.classes = {"neg", "pos"};
  info.source = "test";
  info.data_type = ElementType::kInt32;
  info.has_lengths = true;
  DatasetWriter writer(path, info);
  std::vector<int32_t> data(static_cast<size_t>(rows * steps), 0), labels;
  for (int64_t i = 0; i < rows; ++i) {
    for (int64_t t = 0; t < std::min<int64_t>(lengths[i], steps); ++t)
      data[i * steps + t] = static_cast<int32_t>(i + t);
    labels.push_back(static_cast<int32_t>(i % 2));
  }
  writer.append_data(data.data(), rows);
  writer.append_class_ids(labels.data(), rows);
  writer.append_lengths(lengths.data(), rows);
  writer.write_vocab({"<pad>", "<unk>", "a", "é", "日本"});
  writer.finish();
}

TEST(Dataset, Int32TokensLengthsAndVocabRoundTrip) {
  TempDir dir;
  const std::string path = dir.file("tokens.h5");
  write_tokens(path, 20, 6);
  Dataset data(path);
  EXPECT_EQ(data.data_type(), ElementType::kInt32);
  EXPECT_FALSE(data.data_is_uint8());
  EXPECT_EQ(data.sample_shape(), Shape({6}));
  EXPECT_EQ(data.steps(), 6);
  EXPECT_TRUE(data.has_lengths());
  EXPECT_EQ(data.num_classes(), 2);
  EXPECT_EQ(data.vocab(), (std::vector<std::string>{"<pad>", "<unk>", "a", "é", "日本"}));
  const std::vector<int64_t> rows = {13, 2, 2, 19, 0};
  Batch batch;
  data.read(rows, batch);
  ASSERT_EQ(batch.data.shape(), Shape({5, 6}));
  ASSERT_EQ(batch.lengths.size(), rows.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    const int64_t r = rows[i];
    EXPECT_EQ(batch.lengths[i], 1 + r % 6) << "row " << r;
    EXPECT_EQ(batch.labels[i], r % 2);
    for (int64_t t = 0; t < 6; ++t) {
      const float expected = t < 1 + r % 6 ? static_cast<float>(r + t) : 0.0f;
      EXPECT_EQ(batch.data[static_cast<int64_t>(i) * 6 + t], expected) << "row " << r << " step " << t;
    }
  }
}

TEST(Dataset, LengthsStayEmptyWithoutLength) {
  TempDir dir;
  write_sample(dir.file("plain.h5"), 10);
  Dataset data(dir.file("plain.h5"));
  EXPECT_FALSE(data.has_lengths());
  EXPECT_TRUE(data.vocab().empty());
  Batch batch;
  batch.lengths = {3, 3};  // left over from another source
  const int64_t rows[] = {1, 2};
  data.read(rows, batch);
  EXPECT_TRUE(batch.lengths.empty());
}

TEST(Dataset, RejectsLengthsOutsideTheSteps) {
  TempDir dir;
  std::vector<int32_t> lengths(20, 5);
  lengths[17] = 40;
  write_tokens(dir.file("long.h5"), 20, 30, lengths);
  expect_error([&] { Dataset d(dir.file("long.h5")); },
               {dir.file("long.h5") + ": /length[17] = 40 is larger than the 30 steps of /data"});
  lengths[17] = 5;
  lengths[3] = 0;
  write_tokens(dir.file("zero.h5"), 20, 30, lengths);
  expect_error([&] { Dataset d(dir.file("zero.h5")); }, {"zero.h5", "/length[3] = 0 is less than 1"});
}

TEST(Dataset, RejectsALengthListOfTheWrongSize) {
  TempDir dir;
  const std::string path = dir.file("short-length.h5");
  write_raw(path, true, 4, 0);
  {
    H5Id file = open_file(path, true);
    const hsize_t n = 3;
    H5Id space(H5Screate_simple(1, &n, nullptr), H5Sclose);
    H5Id ds(H5Dcreate2(file.get(), "/length", H5T_STD_I32LE, space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
            H5Dclose);
    const int32_t lengths[3] = {1, 2, 3};
    H5Dwrite(ds.get(), H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, lengths);
  }
  expect_error([&] { Dataset d(path); }, {"short-length.h5", "/length must hold one length per row", "(4,)"});
}

TEST(Dataset, PerStepTargetsRoundTrip) {
  TempDir dir;
  const std::string path = dir.file("series.h5");
  constexpr int64_t kRows = 7, kSteps = 4, kFeatures = 3, kTargets = 2;
  DatasetInfo info;
  info.sample_shape = {kSteps, kFeatures};
  info.source = "test";
  info.data_type = ElementType::kFloat32;
  info.label_type = LabelType::kTargets;
  info.target_shape = {kSteps, kTargets};
  std::vector<float> data(kRows * kSteps * kFeatures), targets(kRows * kSteps * kTargets);
  for (size_t i = 0; i < data.size(); ++i) data[i] = 0.5f * static_cast<float>(i);
  for (size_t i = 0; i < targets.size(); ++i) targets[i] = -0.25f * static_cast<float>(i);
  {
    DatasetWriter writer(path, info);
    writer.append_data(data.data(), 3);  // in two blocks
    writer.append_data(data.data() + 3 * kSteps * kFeatures, kRows - 3);
    writer.append_targets(targets.data(), kRows);
    writer.set_float_list_attribute("mean", {1.5, -2.0});
    writer.set_string_list_attribute("columns", {"a", "b"});
    writer.set_int_attribute("window", kSteps);
    writer.set_string_attribute("horizon", "every");
    writer.finish();
  }
  Dataset dataset(path);
  EXPECT_FALSE(dataset.has_class_labels());
  EXPECT_EQ(dataset.target_shape(), Shape({kSteps, kTargets}));
  const int64_t rows[] = {6, 1};
  Batch batch;
  dataset.read(rows, batch);
  ASSERT_EQ(batch.data.shape(), Shape({2, kSteps, kFeatures}));
  ASSERT_EQ(batch.targets.shape(), Shape({2, kSteps, kTargets}));
  for (int64_t i = 0; i < 2; ++i) {
    for (int64_t j = 0; j < kSteps * kTargets; ++j) {
      EXPECT_EQ(batch.targets[i * kSteps * kTargets + j], targets[rows[i] * kSteps * kTargets + j]);
    }
    for (int64_t j = 0; j < kSteps * kFeatures; ++j) {
      EXPECT_EQ(batch.data[i * kSteps * kFeatures + j], data[rows[i] * kSteps * kFeatures + j]);
    }
  }
  H5Id file = open_file(path, false);
  EXPECT_EQ(read_float_list_attribute(file.get(), "mean", path), (std::vector<double>{1.5, -2.0}));
  EXPECT_EQ(read_string_list_attribute(file.get(), "columns", path), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(read_int_attribute(file.get(), "window", path), kSteps);
  EXPECT_EQ(read_string_attribute(file.get(), "horizon", path), "every");
}

TEST(Dataset, WriterRefusesWhatItsInfoDidNotDeclare) {
  TempDir dir;
  DatasetWriter writer(dir.file("w.h5"), DatasetInfo{{2}, {}, "x", 0});
  const float f[2] = {1, 2};
  const int32_t ids[1] = {0};
  EXPECT_THROW(writer.append_data(f, 1), std::logic_error);
  EXPECT_THROW(writer.append_targets(f, 1), std::logic_error);
  EXPECT_THROW(writer.append_lengths(ids, 1), std::logic_error);
  const uint8_t bytes[2] = {1, 2};
  writer.append_data(bytes, 1);
  EXPECT_THROW(writer.finish(), std::logic_error);  // /label has no rows yet
  writer.append_class_ids(ids, 1);
  writer.finish();
  EXPECT_TRUE(std::filesystem::exists(dir.file("w.h5")));
}

// Peak resident memory of this process so far, in MiB.
int64_t peak_rss_mib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss / 1024;
}

// A chunked data set of rows of `row_shape` (uint8 data, int32 labels), `rows` long, that costs no
// disk: only the chunks holding rows [first_written, first_written + 16) are written.
void write_sparse_dataset(const std::string& path, hsize_t rows, hsize_t first_written) {
  H5Id file = create_file(path);
  const hsize_t dims[3] = {rows, 2, 2}, chunk[3] = {4096, 2, 2};
  H5Id space(H5Screate_simple(3, dims, nullptr), H5Sclose);
  H5Id dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
  H5Pset_chunk(dcpl.get(), 3, chunk);
  H5Id data(H5Dcreate2(file.get(), "/data", H5T_NATIVE_UINT8, space.get(), H5P_DEFAULT, dcpl.get(), H5P_DEFAULT),
            H5Dclose);
  const hsize_t label_chunk = 1 << 16;
  H5Id label_space(H5Screate_simple(1, dims, nullptr), H5Sclose);
  H5Id label_dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
  H5Pset_chunk(label_dcpl.get(), 1, &label_chunk);
  H5Id label(
      H5Dcreate2(file.get(), "/label", H5T_STD_I32LE, label_space.get(), H5P_DEFAULT, label_dcpl.get(), H5P_DEFAULT),
      H5Dclose);
  const hsize_t start[3] = {first_written, 0, 0}, count[3] = {16, 2, 2};
  std::vector<uint8_t> pixels(64, 200);
  std::vector<int32_t> ones(16, 1);
  H5Id file_space(H5Dget_space(data.get()), H5Sclose);
  H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, start, nullptr, count, nullptr);
  H5Id mem(H5Screate_simple(3, count, nullptr), H5Sclose);
  H5Dwrite(data.get(), H5T_NATIVE_UINT8, mem.get(), file_space.get(), H5P_DEFAULT, pixels.data());
  H5Id label_file_space(H5Dget_space(label.get()), H5Sclose);
  H5Sselect_hyperslab(label_file_space.get(), H5S_SELECT_SET, start, nullptr, count, nullptr);
  H5Id label_mem(H5Screate_simple(1, count, nullptr), H5Sclose);
  H5Dwrite(label.get(), H5T_NATIVE_INT32, label_mem.get(), label_file_space.get(), H5P_DEFAULT, ones.data());
  write_string_list_attribute(file.get(), "classes", {"dark", "bright"});
}

class CountSteps : public TrainObserver {
 public:
  void on_step(const StepReport&) override { ++steps; }
  int steps = 0;
};

TEST(Dataset, PastTwoToThe31RowsNothingAtOpenOrPerStepGrowsWithTheRowCount) {
  TempDir dir;
  const hsize_t rows = (hsize_t{1} << 31) + 1000, written = (hsize_t{1} << 31) + 100;
  write_sparse_dataset(dir.file("big.h5"), rows, written);
  EXPECT_LT(std::filesystem::file_size(dir.file("big.h5")), 1u << 20) << "unwritten chunks take no disk";
  const int64_t rss_before = peak_rss_mib();
  const auto start = std::chrono::steady_clock::now();
  Dataset data(dir.file("big.h5"));
  const double open_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(data.size(), static_cast<int64_t>(rows));
  EXPECT_EQ(data.num_classes(), 2);
  EXPECT_FALSE(data.in_memory());
  Batch batch;
  const int64_t beyond[] = {static_cast<int64_t>(written) + 3, 5};  // past the 2^31-th row, and before it
  data.read(beyond, batch);
  EXPECT_FLOAT_EQ(batch.data[0], 200.0f / 255.0f);
  EXPECT_EQ(batch.labels[0], 1);
  EXPECT_EQ(batch.data[4], 0.0f);  // an unwritten chunk: the fill value
  EXPECT_EQ(batch.labels[1], 0);

  // Three training steps: the sampler's keyed bijection draws rows from the whole range.
  auto net = parse_model("[input] shape = 2,2\n[flatten]\n[dense] outputs = 2\n[softmax_cross_entropy]\n", "m");
  net->initialize(1);
  auto optimizer = make_optimizer(OptimizerConfig{});
  TrainOptions options;
  options.global_batch = 64;
  options.max_steps = 3;
  Collective one_process;
  CountSteps observer;
  const auto train_start = std::chrono::steady_clock::now();
  Trainer(*net, *optimizer, one_process, options).fit(data, nullptr, observer);
  const double step_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - train_start).count() / 3;
  EXPECT_EQ(observer.steps, 3);
  const int64_t rss_growth = peak_rss_mib() - rss_before;
  EXPECT_LT(rss_growth, 200) << "MiB for a data set of 2^31 rows";
  std::printf("2^31 + 1000 rows: open %.3f s, a step %.3f s, peak RSS growth %lld MiB (process peak %lld MiB)\n",
              open_seconds, step_seconds, static_cast<long long>(rss_growth), static_cast<long long>(peak_rss_mib()));
}

TEST(Dataset, PastTheScanLimitTheFileMustNameItsClasses) {
  TempDir dir;
  const hsize_t rows = Dataset::kScanRows + 10;
  write_sparse_dataset(dir.file("big.h5"), rows, 0);
  {
    H5Id file = open_file(dir.file("big.h5"), true);
    H5Adelete(file.get(), "classes");
  }
  expect_error([&] { Dataset d(dir.file("big.h5")); }, {"big.h5", "no 'classes' attribute"});
}

}  // namespace
}  // namespace shardnet::io
