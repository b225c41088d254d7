#include "io/input_preprocessing.h"

#include <gtest/gtest.h>

#include "core/model_file.h"
#include "io/checkpoint.h"
#include "io/dataset.h"
#include "io/hdf5.h"
#include "tests/io/test_files.h"

namespace shardnet::io {
namespace {

using testing::TempDir;

// Saved in a checkpoint and read back through read_checkpoint_meta.
InputPreprocessing round_trip(const TempDir& dir, const InputPreprocessing& p) {
  auto net = parse_model("[input] shape = 2\n[dense] outputs = 2\n[softmax_cross_entropy]\n", "m");
  CheckpointMeta meta;
  meta.model_text = "m";
  meta.preprocessing = p;
  save_checkpoint(dir.file("c.h5"), *net, nullptr, meta);
  const auto back = read_checkpoint_meta(dir.file("c.h5")).preprocessing;
  EXPECT_TRUE(back.has_value());
  return back.value_or(InputPreprocessing{});
}

TEST(InputPreprocessing, EveryKindRoundTripsThroughACheckpoint) {
  TempDir dir;
  InputPreprocessing text;
  text.kind = InputKind::kText;
  text.sample_shape = {20};
  text.data_type = ElementType::kInt32;
  text.classes = {"Arabic", "Czech"};
  text.level = TokenLevel::kWord;
  text.lowercase = true;
  text.vocab = {"<pad>", "<unk>", "the", "élan"};
  InputPreprocessing back = round_trip(dir, text);
  EXPECT_EQ(back.kind, InputKind::kText);
  EXPECT_EQ(back.sample_shape, text.sample_shape);
  EXPECT_EQ(back.data_type, ElementType::kInt32);
  EXPECT_EQ(back.classes, text.classes);
  EXPECT_EQ(back.level, TokenLevel::kWord);
  EXPECT_TRUE(back.lowercase);
  EXPECT_EQ(back.vocab, text.vocab);

  InputPreprocessing series;
  series.kind = InputKind::kSeries;
  series.sample_shape = {10, 2};
  series.columns = {"x", "y"};
  series.mean = {1.5, -2.25};
  series.std = {0.5, 3.0};
  series.target_columns = {"y"};
  series.target_mean = {-2.25};
  series.target_std = {3.0};
  series.horizon = Horizon::kLast;
  back = round_trip(dir, series);
  EXPECT_EQ(back.kind, InputKind::kSeries);
  EXPECT_EQ(back.columns, series.columns);
  EXPECT_EQ(back.mean, series.mean);
  EXPECT_EQ(back.std, series.std);
  EXPECT_EQ(back.target_columns, series.target_columns);
  EXPECT_EQ(back.target_mean, series.target_mean);
  EXPECT_EQ(back.target_std, series.target_std);
  EXPECT_EQ(back.horizon, Horizon::kLast);

  InputPreprocessing image;
  image.kind = InputKind::kImage;
  image.sample_shape = {3, 32, 32};
  image.data_type = ElementType::kUint8;
  image.classes = {"cat", "dog"};
  back = round_trip(dir, image);
  EXPECT_EQ(back.kind, InputKind::kImage);
  EXPECT_EQ(back.sample_shape, image.sample_shape);
  EXPECT_EQ(back.data_type, ElementType::kUint8);
  EXPECT_TRUE(back.vocab.empty());
}

TEST(InputPreprocessing, ACheckpointWithoutOneHasNone) {
  TempDir dir;
  auto net = parse_model("[input] shape = 2\n[dense] outputs = 2\n[softmax_cross_entropy]\n", "m");
  save_checkpoint(dir.file("c.h5"), *net, nullptr, CheckpointMeta{"m", 0, 0, 0, 1, 1, 1, "", {}});
  EXPECT_FALSE(read_checkpoint_meta(dir.file("c.h5")).preprocessing.has_value());
}

TEST(InputPreprocessing, ARecipeThatCannotPrepareItsRowsIsRefusedNamingTheFile) {
  TempDir dir;
  InputPreprocessing series;
  series.kind = InputKind::kSeries;
  series.sample_shape = {10, 2};
  series.columns = {"x"};  // one name for two columns
  series.mean = {0.0, 0.0};
  series.std = {1.0, 1.0};
  auto net = parse_model("[input] shape = 2\n[dense] outputs = 2\n[softmax_cross_entropy]\n", "m");
  CheckpointMeta meta;
  meta.model_text = "m";
  meta.preprocessing = series;
  save_checkpoint(dir.file("c.h5"), *net, nullptr, meta);
  try {
    read_checkpoint_meta(dir.file("c.h5"));
    FAIL() << "an inconsistent recipe was read";
  } catch (const DatasetError& e) {
    EXPECT_NE(std::string(e.what()).find(dir.file("c.h5") + ": /preprocessing: series preprocessing: columns"),
              std::string::npos)
        << e.what();
  }
}

TEST(InputPreprocessing, CompareIgnoresTheRecipe) {
  TempDir dir;
  auto net = parse_model("[input] shape = 2\n[dense] outputs = 2\n[softmax_cross_entropy]\n", "m");
  CheckpointMeta meta;
  meta.model_text = "m";
  save_checkpoint(dir.file("a.h5"), *net, nullptr, meta);
  meta.preprocessing = InputPreprocessing{};
  meta.preprocessing->kind = InputKind::kText;
  meta.preprocessing->sample_shape = {4};
  meta.preprocessing->vocab = {"<pad>", "<unk>", "a"};
  save_checkpoint(dir.file("b.h5"), *net, nullptr, meta);
  EXPECT_TRUE(compare_checkpoints(dir.file("a.h5"), dir.file("b.h5")).identical);
}

}  // namespace
}  // namespace shardnet::io
