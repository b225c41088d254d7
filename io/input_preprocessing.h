#pragma once
// How a raw input (an image file, a line of text, a CSV series) becomes one row of a model's
// input: what the converter recorded in the training data's attributes, read back as one typed
// description. Training copies it into every checkpoint (group /preprocessing), so a checkpoint
// alone can prepare new inputs for `shardnet predict`:
//   /preprocessing attributes: kind ("tensor", "image", "text", "series"), sample_shape,
//     data_type, classes; text: level, lowercase; series: columns, mean, std, target_columns,
//     target_mean, target_std, window, horizon
//   /preprocessing/vocab  (V,) strings: the token of each id (text)
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "io/csv_series.h"
#include "io/dataset_writer.h"
#include "io/h5_handle.h"
#include "io/text_tokens.h"

namespace shardnet::io {

enum class InputKind {
  kTensor,  // rows of /data as they are (any other data set)
  kImage,   // (C, H, W) uint8: a JPEG/PNG file, converted to C channels, resized to H x W, / 255
  kText,    // (T) int32 token ids: a line, tokenized, looked up in the vocabulary, padded to T
  kSeries,  // (T, D) float32: T rows of the D input columns of a CSV file, standardised
};
const char* input_kind_name(InputKind kind);

struct InputPreprocessing {
  InputKind kind = InputKind::kTensor;
  Shape sample_shape;  // one row of the model's input
  ElementType data_type = ElementType::kFloat32;
  std::vector<std::string> classes;  // class names in label order (may be empty)
  // kText
  TokenLevel level = TokenLevel::kChar;
  bool lowercase = false;
  std::vector<std::string> vocab;
  // kSeries: stored = (raw - mean) / std per input column; outputs are target_std * y + target_mean.
  std::vector<std::string> columns, target_columns;
  std::vector<double> mean, std, target_mean, target_std;
  Horizon horizon = Horizon::kEvery;
};

class Dataset;

// From a data file written by the converters (or any file in shardnet's layout: kTensor). A kind's
// attribute that is inconsistent with the data is a DatasetError naming the file and the attribute.
InputPreprocessing read_data_preprocessing(const Dataset& data);

// The /preprocessing group of an open checkpoint file.
void write_preprocessing(hid_t file, const InputPreprocessing& preprocessing);
// nullopt when the checkpoint has none (written before it was stored, or by the C++ API without data).
std::optional<InputPreprocessing> read_checkpoint_preprocessing(hid_t file, const std::string& path);

}  // namespace shardnet::io
