#include "io/word2vec_text.h"

#include <gtest/gtest.h>

#include <fstream>

#include "tests/io/test_files.h"

namespace shardnet::io {
namespace {

TEST(Word2VecText, WritesTheHeaderAndOneLinePerWord) {
  testing::TempDir dir;
  Tensor v({3, 2});
  const float values[] = {0.5f, -1, 2, 0.25f, 1e-7f, 3};
  std::copy(values, values + 6, v.data());
  write_word2vec_text(dir.file("v.txt"), {"good", "bad"}, v);  // a table may have more rows than words
  std::ifstream in(dir.file("v.txt"));
  std::string header, first, second, extra;
  std::getline(in, header);
  std::getline(in, first);
  std::getline(in, second);
  EXPECT_EQ(header, "2 2");
  EXPECT_EQ(first, "good 0.5 -1");
  EXPECT_EQ(second, "bad 2 0.25");
  EXPECT_FALSE(std::getline(in, extra));
  EXPECT_THROW(write_word2vec_text(dir.file("w.txt"), {"two words", "x"}, v), std::invalid_argument);
  EXPECT_THROW(write_word2vec_text(dir.file("w.txt"), {"a", "b", "c", "d"}, v), std::invalid_argument);
  EXPECT_THROW(write_word2vec_text(dir.file("no/such/dir/v.txt"), {"a"}, v), std::runtime_error);
}

}  // namespace
}  // namespace shardnet::io
