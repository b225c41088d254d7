#include "io/skipgram_pairs.h"

#include <algorithm>
#include <cmath>
#include <unordered_map>

#include "core/random.h"
#include "io/dataset_writer.h"
#include "io/hdf5.h"
#include "io/text_tokens.h"

namespace shardnet::io {

namespace {
constexpr uint64_t kSubsampleStream = 0x5b5a3d1e, kWindowStream = 0x3a17d0c5;
constexpr int64_t kRowsPerBlock = 1 << 16;

struct Corpus {
  std::vector<std::vector<std::string>> sentences;
  std::unordered_map<std::string, int64_t> counts;
  int64_t words = 0;
};

Corpus read_corpus(const std::vector<std::string>& files, bool lowercase) {
  Corpus corpus;
  for (const std::string& file : files) {
    for (const std::string& line : read_examples(file)) {
      std::vector<std::string> words = tokenize(line, TokenLevel::kWord, lowercase);
      for (const std::string& w : words) ++corpus.counts[w];
      corpus.words += static_cast<int64_t>(words.size());
      corpus.sentences.push_back(std::move(words));
    }
  }
  return corpus;
}

// Words seen at least min_count times, most frequent first, ties by byte order.
std::vector<std::pair<std::string, int64_t>> vocabulary(const Corpus& corpus, const SkipGramOptions& options) {
  std::vector<std::pair<std::string, int64_t>> words;
  for (const auto& [word, count] : corpus.counts)
    if (count >= options.min_count) words.emplace_back(word, count);
  std::sort(words.begin(), words.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  if (options.max_vocab > 0 && static_cast<int64_t>(words.size()) > options.max_vocab) words.resize(options.max_vocab);
  return words;
}
}  // namespace

SkipGramSummary convert_skipgram(const std::vector<std::string>& files, const std::string& out_path,
                                 const SkipGramOptions& options) {
  if (options.window < 1) throw TextError("skipgram: the window must be at least 1");
  if (options.min_count < 1) throw TextError("skipgram: min count must be at least 1");
  if (!(options.subsample >= 0.0)) throw TextError("skipgram: subsample must be >= 0");
  const Corpus corpus = read_corpus(files, options.lowercase);
  const auto vocab = vocabulary(corpus, options);
  std::string source;
  for (const std::string& f : files) source += (source.empty() ? "" : ", ") + f;
  if (vocab.empty()) {
    throw TextError(source + ": no word occurs " + std::to_string(options.min_count) + " times (" +
                    std::to_string(corpus.words) + " words in all): lower --min-count");
  }
  std::unordered_map<std::string, int32_t> ids;
  std::vector<std::string> tokens;
  std::vector<float> counts;
  int64_t in_vocabulary = 0;
  for (const auto& [word, count] : vocab) {
    ids.emplace(word, static_cast<int32_t>(tokens.size()));
    tokens.push_back(word);
    counts.push_back(static_cast<float>(count));
    in_vocabulary += count;
  }

  DatasetInfo info;
  info.sample_shape = {2};
  info.classes = {"context"};
  info.source = "skip-gram pairs of " + source;
  info.data_type = ElementType::kInt32;
  info.gzip_level = 4;
  DatasetWriter writer(out_path, info);
  SkipGramSummary summary;
  summary.sentences = static_cast<int64_t>(corpus.sentences.size());
  summary.words = corpus.words;
  summary.in_vocabulary = in_vocabulary;
  summary.vocabulary = static_cast<int64_t>(tokens.size());
  std::vector<int32_t> pairs, labels;
  auto flush = [&] {
    const auto rows = static_cast<int64_t>(labels.size());
    if (rows == 0) return;
    writer.append_data(pairs.data(), rows);
    writer.append_class_ids(labels.data(), rows);
    summary.pairs += rows;
    pairs.clear();
    labels.clear();
  };
  // word2vec.c's threshold: the sample rate times the words of the vocabulary in the text.
  const double threshold = options.subsample * static_cast<double>(in_vocabulary);
  uint64_t position = 0;  // of each word of the text, keying its draws
  std::vector<int32_t> kept;
  std::vector<uint64_t> kept_at;  // their positions
  for (const auto& sentence : corpus.sentences) {
    kept.clear();
    kept_at.clear();
    for (const std::string& word : sentence) {
      const uint64_t at = position++;
      auto it = ids.find(word);
      if (it == ids.end()) continue;
      if (threshold > 0.0) {
        const double count = counts[static_cast<size_t>(it->second)];
        const double keep = (std::sqrt(count / threshold) + 1.0) * threshold / count;
        if (keep < 1.0 && CounterRng(hash_key(options.seed, kSubsampleStream, at)).uniform() >= keep) continue;
      }
      kept.push_back(it->second);
      kept_at.push_back(at);
    }
    summary.kept += static_cast<int64_t>(kept.size());
    for (size_t c = 0; c < kept.size(); ++c) {
      const auto reach = static_cast<int64_t>(
          1 +
          CounterRng(hash_key(options.seed, kWindowStream, kept_at[c])).below(static_cast<uint64_t>(options.window)));
      const auto first = static_cast<int64_t>(c) - reach, last = static_cast<int64_t>(c) + reach;
      for (int64_t o = std::max<int64_t>(first, 0); o <= std::min<int64_t>(last, static_cast<int64_t>(kept.size()) - 1);
           ++o) {
        if (o == static_cast<int64_t>(c)) continue;
        pairs.push_back(kept[c]);
        pairs.push_back(kept[static_cast<size_t>(o)]);
        labels.push_back(0);
      }
      if (static_cast<int64_t>(labels.size()) >= kRowsPerBlock) flush();
    }
  }
  flush();
  if (summary.pairs == 0) throw TextError(source + ": no two kept words share a sentence: no pairs to write");
  writer.write_vocab(tokens);
  writer.write_float_array("/counts", counts);
  writer.set_int_attribute("window", options.window);
  writer.set_int_attribute("min_count", options.min_count);
  writer.set_float_list_attribute("subsample", {options.subsample});
  writer.set_int_attribute("lowercase", options.lowercase ? 1 : 0);
  writer.set_int_attribute("seed", static_cast<int64_t>(options.seed));
  writer.finish();
  return summary;
}

}  // namespace shardnet::io
