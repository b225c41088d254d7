#pragma once
// Labelled text as token ids for sequence classifiers: one file per class, one example per
// non-empty line, split by a seeded shuffle into train/val/test files of shardnet's layout:
//   /data   (N, T) int32 token ids, padded with 0 after each example's tokens
//   /label  (N,) int32 class ids; attribute "classes" = the class names in label order
//   /length (N,) int32 tokens of each example (after truncation to T), in [1, T]
//   /vocab  (V,) strings: id 0 = "<pad>", 1 = "<unk>", then the training split's tokens seen at
//           least min_count times, most frequent first (ties by byte order)
//   attributes: level, lowercase, min_count, seed, split, source
#include <array>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace shardnet::io {

class TextError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// UTF-8 ------------------------------------------------------------------------------------------

// Byte offset of the first byte that does not start a valid UTF-8 sequence (overlong forms,
// surrogates and values past U+10FFFF are invalid), or std::string_view::npos.
size_t find_invalid_utf8(std::string_view text);
// The code points of valid UTF-8 text, each as its own string.
std::vector<std::string> split_code_points(std::string_view text);
// Lower case for ASCII, Latin-1, Latin Extended-A, Greek and Cyrillic letters; the rest unchanged.
std::string lowercase_utf8(std::string_view text);

// Tokens -----------------------------------------------------------------------------------------

enum class TokenLevel { kChar, kWord };
const char* token_level_name(TokenLevel level);

// Code points (kChar) or runs of non-whitespace (kWord) of one example.
std::vector<std::string> tokenize(std::string_view text, TokenLevel level, bool lowercase);

// The non-empty lines of a class file, trimmed of surrounding whitespace. A missing file, a file
// with no examples and invalid UTF-8 ("file:line: ...") are TextErrors.
std::vector<std::string> read_examples(const std::string& path);

// "names/Arabic.txt" -> "Arabic"; other extensions are kept ("rt-polarity.pos").
std::string class_name_for(const std::string& path);

constexpr int32_t kPadId = 0;
constexpr int32_t kUnknownId = 1;

class Vocabulary {
 public:
  // From the tokens of the training examples; tokens seen fewer than `min_count` times are left
  // out (they become <unk>), and so are the literal strings "<pad>" and "<unk>".
  static Vocabulary build(const std::vector<std::vector<std::string>>& examples, int64_t min_count);
  // A stored vocabulary (a data file's /vocab: "<pad>", "<unk>", then the tokens by id).
  static Vocabulary from_tokens(std::vector<std::string> tokens);
  int32_t id(const std::string& token) const;
  const std::vector<std::string>& tokens() const { return tokens_; }
  int64_t size() const { return static_cast<int64_t>(tokens_.size()); }

 private:
  std::vector<std::string> tokens_;
  std::unordered_map<std::string, int32_t> ids_;
};

// Writes the ids of the first `steps` tokens (kUnknownId for one not in `vocab`) to row[0, steps),
// padded with kPadId, and returns how many tokens were written: the example's length.
int64_t encode_tokens(const std::vector<std::string>& tokens, const Vocabulary& vocab, int64_t steps, int32_t* row);

// Conversion -------------------------------------------------------------------------------------

struct TextOptions {
  TokenLevel level = TokenLevel::kChar;
  bool lowercase = false;
  int64_t min_count = 1;
  int64_t max_length = 0;  // T; 0: the longest training example
  uint64_t seed = 1;
  std::array<double, 3> split{0.8, 0.1, 0.1};  // train, val, test; a 0 skips that file
  // One name per file, in label order; empty: the file names (class_name_for), sorted.
  std::vector<std::string> class_names;
};

struct SplitSummary {
  std::string name;  // train, val or test
  std::string path;
  int64_t examples = 0;
  int64_t vocabulary = 0;
  int64_t max_length = 0;  // T of /data
  int64_t longest = 0;     // the longest example before truncation
  int64_t truncated = 0;   // examples longer than T
};

// Writes `<out_prefix>-train.h5`, `-val.h5` and `-test.h5` (each split with a non-zero fraction).
std::vector<SplitSummary> convert_text(const std::vector<std::string>& files, const std::string& out_prefix,
                                       const TextOptions& options);

}  // namespace shardnet::io
