#pragma once
// Word2Vec's skip-gram training pairs from plain text (Mikolov et al. 2013, and the reference
// word2vec.c): each line is a sentence of whitespace-separated words; words seen fewer than
// min_count times are dropped, frequent ones are subsampled (kept with probability
// (sqrt(f / t) + 1) t / f for a word of frequency f), and every kept word is paired with the kept
// words within a window of b words on each side, b drawn uniformly from 1..window per word. The
// draws are keyed by (seed, position in the corpus): the same text and seed give the same pairs.
// The output, in shardnet's layout:
//   /data   (N, 2) int32: centre word, context word
//   /label  (N,) int32, all 0: the true context is output 0 of a [skipgram] layer
//   /vocab  (V,) strings, most frequent first (ties by byte order)
//   /counts (V,) float32: each word's count in the text (the negatives' unigram^0.75 table)
//   attributes: window, min_count, subsample, lowercase, seed, source
#include <cstdint>
#include <string>
#include <vector>

namespace shardnet::io {

struct SkipGramOptions {
  int64_t window = 5;
  int64_t min_count = 5;
  double subsample = 1e-3;  // t; 0: keep every word
  bool lowercase = true;
  uint64_t seed = 1;
  int64_t max_vocab = 0;  // keep only the most frequent words (0: no limit)
};

struct SkipGramSummary {
  int64_t sentences = 0, words = 0;  // in the text
  int64_t in_vocabulary = 0;         // words of the vocabulary, before subsampling
  int64_t kept = 0;                  // after subsampling
  int64_t vocabulary = 0, pairs = 0;
};

// Reads the text files (UTF-8, one sentence per line) and writes `out_path`. Throws TextError for
// unreadable files, invalid UTF-8 (naming the line) and a vocabulary that comes out empty.
SkipGramSummary convert_skipgram(const std::vector<std::string>& files, const std::string& out_path,
                                 const SkipGramOptions& options);

}  // namespace shardnet::io
