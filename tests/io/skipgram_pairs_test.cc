#include "io/skipgram_pairs.h"

#include <gtest/gtest.h>

#include <fstream>
#include <map>

#include "io/dataset.h"
#include "io/text_tokens.h"
#include "tests/io/test_files.h"

namespace shardnet::io {
namespace {

using testing::expect_error;
using testing::TempDir;

using testing::write_text;

std::vector<std::pair<std::string, std::string>> read_pairs(Dataset& data) {
  std::vector<int64_t> rows(static_cast<size_t>(data.size()));
  for (int64_t i = 0; i < data.size(); ++i) rows[static_cast<size_t>(i)] = i;
  Batch batch;
  data.read(rows, batch);
  std::vector<std::pair<std::string, std::string>> pairs;
  for (int64_t i = 0; i < data.size(); ++i) {
    pairs.emplace_back(data.vocab()[static_cast<size_t>(batch.data[2 * i])],
                       data.vocab()[static_cast<size_t>(batch.data[2 * i + 1])]);
    EXPECT_EQ(batch.labels[static_cast<size_t>(i)], 0);
  }
  return pairs;
}

// A window of 1 without subsampling: each word with its neighbours in the sentence, in order;
// rare words are gone before pairing, and sentences (lines) do not pair across.
TEST(SkipGram, PairsNeighboursWithinSentences) {
  TempDir dir;
  write_text(dir.file("a.txt"), "The cat sat\nthe dog sat rare\n\n");
  SkipGramOptions o;
  o.window = 1;
  o.min_count = 1;
  o.subsample = 0.0;
  o.lowercase = true;
  const SkipGramSummary s = convert_skipgram({dir.file("a.txt")}, dir.file("p.h5"), o);
  EXPECT_EQ(s.sentences, 2);
  EXPECT_EQ(s.words, 7);
  EXPECT_EQ(s.vocabulary, 5);
  Dataset data(dir.file("p.h5"));
  // By count (the 2, sat 2), then byte order.
  EXPECT_EQ(data.vocab(), (std::vector<std::string>{"sat", "the", "cat", "dog", "rare"}));
  EXPECT_EQ(data.description().token_counts, (std::vector<float>{2, 2, 1, 1, 1}));
  using P = std::pair<std::string, std::string>;
  EXPECT_EQ(read_pairs(data), (std::vector<P>{{"the", "cat"},
                                              {"cat", "the"},
                                              {"cat", "sat"},
                                              {"sat", "cat"},
                                              {"the", "dog"},
                                              {"dog", "the"},
                                              {"dog", "sat"},
                                              {"sat", "dog"},
                                              {"sat", "rare"},
                                              {"rare", "sat"}}));
  o.min_count = 2;  // cat, dog and rare go: "the sat" twice
  EXPECT_EQ(convert_skipgram({dir.file("a.txt")}, dir.file("q.h5"), o).pairs, 4);
}

// Subsampling keeps a frequent word with probability (sqrt(f/t) + 1) t/f and the draws follow the
// seed: the same seed gives the same pairs, another seed other ones.
TEST(SkipGram, SubsamplesFrequentWordsReproducibly) {
  TempDir dir;
  std::string text;
  for (int i = 0; i < 400; ++i) text += "a a a a a a a b c" + std::to_string(i % 10) + "\n";
  write_text(dir.file("t.txt"), text);
  SkipGramOptions o;
  o.min_count = 1;
  o.subsample = 0.01;
  const SkipGramSummary s = convert_skipgram({dir.file("t.txt")}, dir.file("1.h5"), o);
  // word2vec.c's rule with threshold t x 3600 = 36: "a" (2800 times) is kept with probability
  // (sqrt(2800 / 36) + 1) 36 / 2800 = 0.126, "b" (400) with 0.39, each c<i> (40) always: 909.5
  // words expected, with a standard deviation of 20.
  EXPECT_NEAR(static_cast<double>(s.kept), 909.5, 100.0);
  o.seed = 1;
  EXPECT_EQ(convert_skipgram({dir.file("t.txt")}, dir.file("2.h5"), o).pairs, s.pairs);
  Dataset one(dir.file("1.h5")), same(dir.file("2.h5"));
  EXPECT_EQ(read_pairs(one), read_pairs(same));
  o.seed = 2;
  Dataset other_seed = (convert_skipgram({dir.file("t.txt")}, dir.file("3.h5"), o), Dataset(dir.file("3.h5")));
  EXPECT_NE(read_pairs(other_seed), read_pairs(one));
}

TEST(SkipGram, SaysWhatIsWrongWithTheText) {
  TempDir dir;
  write_text(dir.file("few.txt"), "one two\nthree\n");
  SkipGramOptions o;
  expect_error([&] { convert_skipgram({dir.file("few.txt")}, dir.file("x.h5"), o); },
               {"few.txt", "no word occurs 5 times", "lower --min-count"});
  o.min_count = 1;
  write_text(dir.file("lonely.txt"), "one\ntwo\n");
  expect_error([&] { convert_skipgram({dir.file("lonely.txt")}, dir.file("x.h5"), o); }, {"no pairs"});
  write_text(dir.file("bad.txt"), "fine words\nbroken \xff byte\n");
  expect_error([&] { convert_skipgram({dir.file("bad.txt")}, dir.file("x.h5"), o); }, {"bad.txt:2"});
  expect_error([&] { convert_skipgram({dir.file("missing.txt")}, dir.file("x.h5"), o); }, {"missing.txt"});
  EXPECT_FALSE(std::filesystem::exists(dir.file("x.h5")));
}

}  // namespace
}  // namespace shardnet::io
