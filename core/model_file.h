#pragma once
// Model files: one [section] per layer in the spirit of Darknet's cfg, `key = value` options after
// the header on the same or following lines, `#` comments. The first section is [input], the last a
// loss. Every error names the file and line.
//
//   [input]   shape = 1,28,28
//   [conv]    filters = 32  size = 5  pad = 2
//   [relu]
//   [maxpool] size = 2
//   [dense]   outputs = 10
//   [softmax_cross_entropy]
#include <memory>
#include <stdexcept>
#include <string>

#include "core/net.h"

namespace shardnet {

class ModelError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// `source` names the text in errors (usually the file path).
std::unique_ptr<Net> parse_model(const std::string& text, const std::string& source);
// Model files may take sizes from the data they train on: `shape = auto` in [input] (the data's
// sample shape), `vocab = auto` (its /vocab's size) and `outputs = classes` (its number of classes).
// Returns `text` with those replaced by the numbers, the rest unchanged (comments too); throws
// ModelError "source:line: ..." when the data set has no such size. Text without them is returned as is.
std::string resolve_data_sizes(const std::string& text, const std::string& source, const DataDescription& data);
// Whether `text` has any of those (so it cannot be built without a data set).
bool takes_sizes_from_data(const std::string& text);
// Reads and parses a model file.
std::unique_ptr<Net> load_model(const std::string& path);
std::string read_text_file(const std::string& path);

}  // namespace shardnet
