#include "io/prediction_inputs.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "core/batch.h"
#include "io/dataset.h"
#include "io/image_folder.h"
#include "tests/io/image_files.h"
#include "tests/io/test_files.h"

namespace shardnet::io {
namespace {

using testing::TempDir;
using testing::write_text;

// Every row of a data set, as the trainer sees it.
Batch all_rows(Dataset& data) {
  std::vector<int64_t> rows(static_cast<size_t>(data.size()));
  for (size_t i = 0; i < rows.size(); ++i) rows[i] = static_cast<int64_t>(i);
  Batch batch;
  data.read(rows, batch);
  return batch;
}

TEST(PredictionInputs, ImageFilesBecomeTheRowsTheirConversionWrote) {
  TempDir dir;
  for (const char* cls : {"cat", "dog"}) std::filesystem::create_directories(dir.file(std::string("imgs/") + cls));
  // 3 channels and gray, JPEG and PNG, sizes that need resizing to 8x6.
  testing::write_jpeg(dir.file("imgs/cat/a.jpg"), testing::smooth_image(11, 9, 3, 1));
  testing::write_png(dir.file("imgs/cat/b.png"), testing::smooth_image(8, 6, 1, 2));
  testing::write_png(dir.file("imgs/dog/c.png"), testing::smooth_image(5, 13, 3, 3));
  ImageOptions options;
  options.height = 8;
  options.width = 6;
  convert_image_folder(dir.file("imgs"), dir.file("imgs.h5"), options);
  Dataset data(dir.file("imgs.h5"));
  const InputPreprocessing p = read_data_preprocessing(data);
  ASSERT_EQ(p.kind, InputKind::kImage);
  EXPECT_EQ(p.sample_shape, (Shape{3, 8, 6}));
  EXPECT_EQ(p.classes, (std::vector<std::string>{"cat", "dog"}));

  const InputListing listing = list_input_items(p, {dir.file("imgs")}, {});
  ASSERT_TRUE(listing.errors.empty());
  ASSERT_EQ(listing.items.size(), 3u);
  const PreparedRows rows = prepare_items(p, listing.items, 2);
  ASSERT_TRUE(rows.errors.empty()) << rows.errors.front();
  const Batch batch = all_rows(data);
  ASSERT_EQ(rows.data.size(), static_cast<size_t>(batch.data.numel()));
  for (size_t i = 0; i < rows.data.size(); ++i) ASSERT_EQ(rows.data[i], batch.data[static_cast<int64_t>(i)]) << i;
  EXPECT_EQ(rows.labels, (std::vector<int32_t>{0, 0, 1}));  // from the class folders' names
  EXPECT_EQ(rows.names[1], dir.file("imgs/cat/b.png"));
  EXPECT_TRUE(rows.lengths.empty());

  // The HDF5 file itself gives the same rows, with its labels.
  const PreparedRows same = prepare_items(p, list_input_items(p, {dir.file("imgs.h5")}, {}).items);
  EXPECT_EQ(same.data, rows.data);
  EXPECT_EQ(same.labels, rows.labels);
  EXPECT_EQ(same.names[2], dir.file("imgs.h5") + ":row 2");
}

TEST(PredictionInputs, ABadInputIsOneLineAndTheRestIsPrepared) {
  TempDir dir;
  InputPreprocessing p;
  p.kind = InputKind::kImage;
  p.sample_shape = {1, 4, 4};
  testing::write_png(dir.file("good.png"), testing::smooth_image(4, 4, 3, 1));
  write_text(dir.file("broken.jpg"), "not a JPEG at all");
  std::filesystem::create_directories(dir.file("empty"));
  const InputListing listing = list_input_items(
      p, {dir.file("good.png"), dir.file("missing.png"), dir.file("empty"), dir.file("broken.jpg")}, {"hello"});
  ASSERT_EQ(listing.errors.size(), 3u);
  EXPECT_EQ(listing.errors[0], dir.file("missing.png") + ": no such file or folder");
  EXPECT_EQ(listing.errors[1], dir.file("empty") + ": no .jpg, .jpeg or .png files in the folder");
  EXPECT_EQ(listing.errors[2], "'hello': text given, but this model takes image inputs");
  const PreparedRows rows = prepare_items(p, listing.items);
  ASSERT_EQ(rows.rows(), 1);
  EXPECT_EQ(rows.names[0], dir.file("good.png"));
  EXPECT_EQ(rows.labels[0], -1);
  ASSERT_EQ(rows.errors.size(), 1u);
  EXPECT_NE(rows.errors[0].find(dir.file("broken.jpg")), std::string::npos) << rows.errors[0];
}

TEST(PredictionInputs, TextIsTokenizedAndLookedUpAsTheConverterDid) {
  TempDir dir;
  write_text(dir.file("en.txt"), "Smith\nJones\nBrown\nTaylor\n");
  write_text(dir.file("it.txt"), "Rossi\nRusso\nFerrari\nEsposito\n");
  TextOptions options;
  options.split = {1.0, 0.0, 0.0};
  options.lowercase = true;
  options.max_length = 6;
  convert_text({dir.file("en.txt"), dir.file("it.txt")}, dir.file("names"), options);
  Dataset data(dir.file("names-train.h5"));
  const InputPreprocessing p = read_data_preprocessing(data);
  ASSERT_EQ(p.kind, InputKind::kText);
  EXPECT_TRUE(p.lowercase);
  EXPECT_EQ(p.sample_shape, (Shape{6}));

  // Every training example, typed again, becomes its row in the file.
  const Batch batch = all_rows(data);
  const InputListing listing = list_input_items(p, {dir.file("en.txt"), dir.file("it.txt")}, {"ESPOSITO", "Zq"});
  ASSERT_TRUE(listing.errors.empty());
  const PreparedRows rows = prepare_items(p, listing.items);
  ASSERT_EQ(rows.rows(), 10);
  EXPECT_EQ(rows.names[0], dir.file("en.txt") + ":1");
  EXPECT_EQ(rows.labels[0], 0);  // the file's class
  EXPECT_EQ(rows.labels[4], 1);
  for (int64_t r = 0; r < 8; ++r) {
    bool found = false;
    for (int64_t b = 0; b < batch.size() && !found; ++b) {
      found = std::equal(rows.data.begin() + r * 6, rows.data.begin() + (r + 1) * 6, batch.data.data() + b * 6) &&
              rows.lengths[r] == batch.lengths[b] && rows.labels[r] == batch.labels[b];
    }
    EXPECT_TRUE(found) << rows.names[r];
  }
  // Truncated to 6 steps; lowercased; unknown characters are <unk> (id 1); padded with 0.
  EXPECT_EQ(rows.lengths[8], 6);
  EXPECT_EQ(std::vector<float>(rows.data.begin() + 8 * 6, rows.data.begin() + 9 * 6),
            std::vector<float>(rows.data.begin() + 7 * 6, rows.data.begin() + 8 * 6));  // "Esposito" = "ESPOSITO"
  EXPECT_EQ(rows.names[8], "ESPOSITO");
  EXPECT_EQ(rows.lengths[9], 2);
  EXPECT_EQ(rows.data[9 * 6], 1.0f);  // 'z' is in no name
  EXPECT_EQ(rows.data[9 * 6 + 2], 0.0f);
}

TEST(PredictionInputs, CsvWindowsAreStandardisedWithTheTrainingStatistics) {
  TempDir dir;
  std::string csv = "t,x,y\n";
  for (int r = 0; r < 30; ++r)
    csv += std::to_string(r) + "," + std::to_string(r * r % 7) + "," + std::to_string(r % 5) + "\n";
  write_text(dir.file("s.csv"), csv);
  const Series series = read_csv_series(dir.file("s.csv"), HeaderMode::kAuto, {"x", "y"});
  WindowOptions options;
  options.inputs = {0, 1};
  options.targets = {1};
  options.window = 4;
  options.horizon = Horizon::kLast;
  options.test_fraction = 0.0;
  write_windows(series, options, make_windows(series, options), dir.file("s"), "test");
  Dataset data(dir.file("s-train.h5"));
  const InputPreprocessing p = read_data_preprocessing(data);
  ASSERT_EQ(p.kind, InputKind::kSeries);
  EXPECT_EQ(p.columns, (std::vector<std::string>{"x", "y"}));
  const PreparedRows rows = prepare_items(p, list_input_items(p, {dir.file("s.csv")}, {}).items);
  const Batch batch = all_rows(data);
  ASSERT_EQ(rows.rows(), 27);  // 30 - 4 + 1 windows of 4; the file's windows stop where a target is left
  ASSERT_GE(rows.rows(), batch.size());
  for (int64_t i = 0; i < batch.data.numel(); ++i) ASSERT_EQ(rows.data[static_cast<size_t>(i)], batch.data[i]) << i;
  EXPECT_EQ(rows.names[0], dir.file("s.csv") + ":lines 2-5");
  // Outputs back in the data's units: y = stored * std + mean.
  const float stored = 0.5f;
  const NamedValues values = regression_outputs(p, &stored, 1);
  EXPECT_EQ(values.names, (std::vector<std::string>{"y"}));
  EXPECT_DOUBLE_EQ(values.values[0], 0.5 * p.target_std[0] + p.target_mean[0]);
}

}  // namespace
}  // namespace shardnet::io
