#include "io/word2vec_text.h"

#include <cstdio>
#include <fstream>
#include <stdexcept>

namespace shardnet::io {

void write_word2vec_text(const std::string& path, const std::vector<std::string>& words, const Tensor& vectors) {
  if (vectors.rank() != 2 || vectors.dim(0) < static_cast<int64_t>(words.size())) {
    throw std::invalid_argument("word2vec export: " + std::to_string(words.size()) + " words but a table of " +
                                shape_string(vectors.shape()));
  }
  for (const std::string& w : words) {
    if (w.empty() || w.find_first_of(" \t\n\r") != std::string::npos) {
      throw std::invalid_argument("word2vec export: the word '" + w + "' is empty or holds whitespace");
    }
  }
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary);
    if (!out) throw std::runtime_error(path + ": cannot write the vectors");
    const int64_t dim = vectors.dim(1);
    out << words.size() << ' ' << dim << '\n';
    char number[32];
    for (size_t i = 0; i < words.size(); ++i) {
      out << words[i];
      for (int64_t d = 0; d < dim; ++d) {
        std::snprintf(number, sizeof number, " %.6g", vectors[static_cast<int64_t>(i) * dim + d]);
        out << number;
      }
      out << '\n';
    }
    if (!out.flush()) throw std::runtime_error(path + ": writing the vectors failed");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0)
    throw std::runtime_error(path + ": cannot move the vectors into place");
}

}  // namespace shardnet::io
