#pragma once
// The word2vec text format (word2vec.c's -binary 0, read by gensim's KeyedVectors.load_word2vec_format):
// a line "<words> <dim>", then one line per word: the word and its dim values, separated by spaces.
#include <string>
#include <vector>

#include "core/tensor.h"

namespace shardnet::io {

// Writes `vectors` (words, dim) with their words; throws std::runtime_error naming the file, and
// std::invalid_argument when the counts differ or a word holds whitespace (the format splits on it).
void write_word2vec_text(const std::string& path, const std::vector<std::string>& words, const Tensor& vectors);

}  // namespace shardnet::io
