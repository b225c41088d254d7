#pragma once
// Raw inputs made into rows of a model's input the way its training data were made
// (io/input_preprocessing.h), for `shardnet predict`: image files and folders, lines of text, CSV
// series, or rows of a data set in shardnet's HDF5 layout. Inputs are first listed as items (one
// image, one line, one CSV file, a block of HDF5 rows), so that ranks can share them out, then
// prepared; an item that cannot be prepared becomes one error line naming it, and the rest are
// still prepared.
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "io/input_preprocessing.h"

namespace shardnet::io {

struct InputItem {
  enum class Source { kImageFile, kTextLine, kCsvFile, kDatasetRows };
  Source source = Source::kImageFile;
  std::string path;                    // the file (kTextLine: the file the line came from, or "" when given as text)
  std::string text;                    // kTextLine: the line
  int64_t line = 0;                    // kTextLine: its 1-based line in `path`
  int64_t first_row = 0, end_row = 0;  // kDatasetRows: rows [first_row, end_row)
  // The class a file's folder names (ROOT/<class>/x.jpg) or the data set's label; -1: unknown.
  int32_t label = -1;
};

struct InputListing {
  std::vector<InputItem> items;
  std::vector<std::string> errors;  // one "input: what was wrong" per input that lists no item
};

// Lists the items of `inputs` (files and folders; a folder is searched recursively for images,
// sorted by path) and of `text_lines` (given on the command line). A .h5/.hdf5 file is a data set
// (its rows in blocks of `dataset_block` rows), any other file is read as `preprocessing.kind`
// says: an image, a text file of one example per non-empty line, or a CSV series. A missing file,
// a folder without images or a data set of another shape is an error line; the rest is listed.
InputListing list_input_items(const InputPreprocessing& preprocessing, const std::vector<std::string>& inputs,
                              const std::vector<std::string>& text_lines, int64_t dataset_block = 1024);

struct PreparedRows {
  Shape sample_shape;
  std::vector<std::string> names;   // per row: the file, the text, "file:line", "file:lines a-b", "file:row i"
  std::vector<int32_t> labels;      // per row: the known class, or -1
  std::vector<float> data;          // rows x numel(sample_shape)
  std::vector<int32_t> lengths;     // per row for text models (its tokens); empty otherwise
  std::vector<std::string> errors;  // one "input: what was wrong" per item that could not be prepared
  int64_t rows() const { return static_cast<int64_t>(names.size()); }
};

// Prepares `items` in order (images decoded on `threads` threads); the rows come out in item order.
// Series: every window of T consecutive rows (a stride of one), standardised with the training
// statistics. Data-set rows must have the model's sample shape.
PreparedRows prepare_items(const InputPreprocessing& preprocessing, const std::vector<InputItem>& items,
                           int64_t threads = 1);

// A regression model's output row in the data's units, a name per value: a series model's targets
// de-standardised (their last step when it predicts at every step), any other output as it is.
struct NamedValues {
  std::vector<std::string> names;
  std::vector<double> values;
};
NamedValues regression_outputs(const InputPreprocessing& preprocessing, const float* output, int64_t outputs);

}  // namespace shardnet::io
