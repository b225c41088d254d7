#include "io/text_tokens.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <sstream>

#include "core/random.h"
#include "core/tensor.h"
#include "io/dataset_writer.h"

namespace shardnet::io {
namespace {

constexpr uint64_t kSplitStream = 0x5b117;  // the split's own random stream

bool is_continuation(unsigned char c) { return (c & 0xC0) == 0x80; }

// Decodes the sequence at `pos`; returns its length in bytes, or 0 when it is not valid UTF-8.
size_t decode(std::string_view text, size_t pos, char32_t& cp) {
  const auto byte = [&](size_t i) { return static_cast<unsigned char>(text[pos + i]); };
  const unsigned char b0 = byte(0);
  if (b0 < 0x80) {
    cp = b0;
    return 1;
  }
  size_t length = 0;
  unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    length = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    length = 3;
    if (b0 == 0xE0) lo = 0xA0;  // no overlong forms
    if (b0 == 0xED) hi = 0x9F;  // no surrogates
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    length = 4;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;  // nothing past U+10FFFF
  } else {
    return 0;
  }
  if (pos + length > text.size()) return 0;
  if (byte(1) < lo || byte(1) > hi) return 0;
  for (size_t i = 2; i < length; ++i) {
    if (!is_continuation(byte(i))) return 0;
  }
  cp = b0 & (0xFF >> (length + 1));
  for (size_t i = 1; i < length; ++i) cp = (cp << 6) | (byte(i) & 0x3F);
  return length;
}

void encode(char32_t cp, std::string& out) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

char32_t lowercase(char32_t c) {
  if (c >= 'A' && c <= 'Z') return c + 0x20;
  if (c >= 0xC0 && c <= 0xDE && c != 0xD7) return c + 0x20;  // Latin-1 (not the multiplication sign)
  // Latin Extended-A pairs: upper case at even code points, then odd ones after U+0138.
  if ((c >= 0x100 && c <= 0x137) || (c >= 0x14A && c <= 0x177)) return c % 2 == 0 ? c + 1 : c;
  if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E)) return c % 2 == 1 ? c + 1 : c;
  if (c == 0x178) return 0xFF;
  if (c >= 0x391 && c <= 0x3A9 && c != 0x3A2) return c + 0x20;  // Greek
  if (c >= 0x410 && c <= 0x42F) return c + 0x20;                // Cyrillic
  if (c >= 0x400 && c <= 0x40F) return c + 0x50;
  return c;
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

std::string hex_byte(unsigned char b) {
  static const char* digits = "0123456789abcdef";
  return std::string("0x") + digits[b >> 4] + digits[b & 15];
}

struct Example {
  std::vector<std::string> tokens;
  int32_t label = 0;
};

void check_options(const std::vector<std::string>& files, const TextOptions& o) {
  if (files.empty()) throw TextError("no class files given");
  double sum = 0;
  for (double f : o.split) {
    if (!(f >= 0 && f <= 1)) throw TextError("split fractions must be in [0, 1]");
    sum += f;
  }
  if (std::abs(sum - 1.0) > 1e-6) throw TextError("split fractions must add up to 1");
  if (o.split[0] <= 0) throw TextError("the training split must not be empty (the vocabulary comes from it)");
  if (o.min_count < 1) throw TextError("the minimum count must be at least 1");
  if (o.max_length < 0) throw TextError("the maximum length must be >= 0 (0: the longest training example)");
  if (!o.class_names.empty() && o.class_names.size() != files.size()) {
    throw TextError(std::to_string(o.class_names.size()) + " class names for " + std::to_string(files.size()) +
                    " files (give one per file, in the same order)");
  }
}

// The file of each label, and the class names in label order.
void assign_labels(const std::vector<std::string>& files, const TextOptions& options,
                   std::vector<std::string>& class_names, std::vector<std::string>& file_of_label) {
  std::vector<std::pair<std::string, std::string>> named;  // (class, file)
  for (size_t i = 0; i < files.size(); ++i) {
    named.emplace_back(options.class_names.empty() ? class_name_for(files[i]) : options.class_names[i], files[i]);
  }
  if (options.class_names.empty()) std::stable_sort(named.begin(), named.end());
  std::map<std::string, std::string> seen;
  for (const auto& [name, file] : named) {
    if (name.empty()) throw TextError(file + ": the class name is empty");
    auto [it, inserted] = seen.emplace(name, file);
    if (!inserted) {
      throw TextError("two files give the class '" + name + "': " + it->second + " and " + file +
                      " (name the classes with --class-names)");
    }
    class_names.push_back(name);
    file_of_label.push_back(file);
  }
}

// A seeded Fisher-Yates permutation of 0..n-1.
std::vector<size_t> shuffled_order(size_t n, uint64_t seed) {
  std::vector<size_t> order(n);
  for (size_t i = 0; i < n; ++i) order[i] = i;
  CounterRng rng(seed, kSplitStream);
  for (size_t i = n; i > 1; --i) std::swap(order[i - 1], order[rng.below(i)]);
  return order;
}

std::string format_fraction(double f) {
  std::ostringstream s;
  s << f;
  return s.str();
}

SplitSummary write_split(const std::vector<const Example*>& examples, const Vocabulary& vocab, int64_t steps,
                         const std::vector<std::string>& class_names, const std::string& path,
                         const std::string& source, const TextOptions& options) {
  SplitSummary summary;
  summary.path = path;
  summary.examples = static_cast<int64_t>(examples.size());
  summary.vocabulary = vocab.size();
  summary.max_length = steps;
  std::vector<int32_t> data(examples.size() * static_cast<size_t>(steps), kPadId), labels, lengths;
  for (size_t i = 0; i < examples.size(); ++i) {
    const auto& tokens = examples[i]->tokens;
    const int64_t length = encode_tokens(tokens, vocab, steps, data.data() + i * steps);
    summary.longest = std::max<int64_t>(summary.longest, static_cast<int64_t>(tokens.size()));
    if (static_cast<int64_t>(tokens.size()) > steps) ++summary.truncated;
    labels.push_back(examples[i]->label);
    lengths.push_back(static_cast<int32_t>(length));
  }
  DatasetInfo info;
  info.sample_shape = {steps};
  info.classes = class_names;
  info.source = source;
  info.data_type = ElementType::kInt32;
  info.label_type = LabelType::kClassIds;
  info.has_lengths = true;
  DatasetWriter writer(path, info);
  const int64_t n = summary.examples;
  writer.append_data(data.data(), n);
  writer.append_class_ids(labels.data(), n);
  writer.append_lengths(lengths.data(), n);
  writer.write_vocab(vocab.tokens());
  writer.set_string_attribute("level", token_level_name(options.level));
  writer.set_int_attribute("lowercase", options.lowercase ? 1 : 0);
  writer.set_int_attribute("min_count", options.min_count);
  writer.set_int_attribute("seed", static_cast<int64_t>(options.seed));
  writer.set_float_list_attribute("split", {options.split.begin(), options.split.end()});
  writer.finish();
  return summary;
}

}  // namespace

size_t find_invalid_utf8(std::string_view text) {
  char32_t cp = 0;
  for (size_t pos = 0; pos < text.size();) {
    const size_t length = decode(text, pos, cp);
    if (length == 0) return pos;
    pos += length;
  }
  return std::string_view::npos;
}

std::vector<std::string> split_code_points(std::string_view text) {
  std::vector<std::string> out;
  char32_t cp = 0;
  for (size_t pos = 0; pos < text.size();) {
    const size_t length = std::max<size_t>(decode(text, pos, cp), 1);  // callers validate first
    out.emplace_back(text.substr(pos, length));
    pos += length;
  }
  return out;
}

std::string lowercase_utf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  char32_t cp = 0;
  for (size_t pos = 0; pos < text.size();) {
    const size_t length = decode(text, pos, cp);
    if (length == 0) {  // not UTF-8: copied as it is
      out += text[pos++];
      continue;
    }
    encode(lowercase(cp), out);
    pos += length;
  }
  return out;
}

const char* token_level_name(TokenLevel level) { return level == TokenLevel::kChar ? "char" : "word"; }

std::vector<std::string> tokenize(std::string_view text, TokenLevel level, bool lowercase) {
  const std::string lowered = lowercase ? lowercase_utf8(text) : std::string();
  const std::string_view source = lowercase ? std::string_view(lowered) : text;
  if (level == TokenLevel::kChar) return split_code_points(source);
  std::vector<std::string> words;
  for (size_t pos = 0; pos < source.size();) {
    while (pos < source.size() && is_space(source[pos])) ++pos;
    const size_t start = pos;
    while (pos < source.size() && !is_space(source[pos])) ++pos;
    if (pos > start) words.emplace_back(source.substr(start, pos - start));
  }
  return words;
}

std::vector<std::string> read_examples(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw TextError(path + ": cannot open the file (does it exist?)");
  std::vector<std::string> examples;
  std::string line;
  for (int64_t number = 1; std::getline(in, line); ++number) {
    std::string_view text(line);
    if (number == 1 && text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);  // byte-order mark
    const size_t bad = find_invalid_utf8(text);
    if (bad != std::string_view::npos) {
      throw TextError(path + ":" + std::to_string(number) + ": not valid UTF-8 (byte " +
                      hex_byte(static_cast<unsigned char>(text[bad])) + " at column " + std::to_string(bad + 1) + ")");
    }
    text = trim(text);
    if (!text.empty()) examples.emplace_back(text);
  }
  if (in.bad()) throw TextError(path + ": read error");
  if (examples.empty()) throw TextError(path + ": no examples (the file has no non-empty lines)");
  return examples;
}

std::string class_name_for(const std::string& path) {
  std::string name = path.substr(path.find_last_of('/') + 1);
  if (name.size() > 4 && name.compare(name.size() - 4, 4, ".txt") == 0) name.resize(name.size() - 4);
  return name;
}

Vocabulary Vocabulary::build(const std::vector<std::vector<std::string>>& examples, int64_t min_count) {
  std::unordered_map<std::string, int64_t> counts;
  for (const auto& tokens : examples) {
    for (const auto& token : tokens) ++counts[token];
  }
  std::vector<std::pair<std::string, int64_t>> kept;
  for (auto& [token, count] : counts) {
    if (count >= min_count && token != "<pad>" && token != "<unk>") kept.emplace_back(token, count);
  }
  std::sort(kept.begin(), kept.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  std::vector<std::string> tokens = {"<pad>", "<unk>"};
  for (auto& entry : kept) tokens.push_back(std::move(entry.first));
  if (tokens.size() > (size_t{1} << 24)) {
    throw TextError("more than 2^24 tokens: ids that large are not exact as float (raise --min-count)");
  }
  return from_tokens(std::move(tokens));
}

Vocabulary Vocabulary::from_tokens(std::vector<std::string> tokens) {
  Vocabulary vocab;
  vocab.tokens_ = std::move(tokens);
  for (size_t i = 0; i < vocab.tokens_.size(); ++i) vocab.ids_.emplace(vocab.tokens_[i], static_cast<int32_t>(i));
  return vocab;
}

int64_t encode_tokens(const std::vector<std::string>& tokens, const Vocabulary& vocab, int64_t steps, int32_t* row) {
  const int64_t length = std::min<int64_t>(static_cast<int64_t>(tokens.size()), steps);
  for (int64_t t = 0; t < length; ++t) row[t] = vocab.id(tokens[static_cast<size_t>(t)]);
  std::fill(row + length, row + steps, kPadId);
  return length;
}

int32_t Vocabulary::id(const std::string& token) const {
  const auto it = ids_.find(token);
  return it == ids_.end() || it->second == kPadId ? kUnknownId : it->second;
}

std::vector<SplitSummary> convert_text(const std::vector<std::string>& files, const std::string& out_prefix,
                                       const TextOptions& options) {
  check_options(files, options);
  std::vector<std::string> class_names, file_of_label;
  assign_labels(files, options, class_names, file_of_label);

  std::vector<Example> examples;
  for (size_t label = 0; label < file_of_label.size(); ++label) {
    for (const auto& line : read_examples(file_of_label[label])) {
      examples.push_back({tokenize(line, options.level, options.lowercase), static_cast<int32_t>(label)});
    }
  }

  // Split boundaries from cumulative fractions, so the three parts always cover every example.
  const size_t n = examples.size();
  const auto boundary = [&](double fraction) {
    return std::min(n, static_cast<size_t>(std::llround(fraction * static_cast<double>(n))));
  };
  const size_t end_train = boundary(options.split[0]);
  size_t end_val = boundary(options.split[0] + options.split[1]);
  if (options.split[1] == 0) end_val = end_train;  // rounding must not give a skipped split a row
  if (options.split[2] == 0) end_val = n;
  const std::vector<size_t> order = shuffled_order(n, options.seed);
  const std::array<std::pair<size_t, size_t>, 3> ranges{{{0, end_train}, {end_train, end_val}, {end_val, n}}};
  const std::array<const char*, 3> split_names{"train", "val", "test"};

  std::vector<std::vector<std::string>> train_tokens;
  int64_t longest_train = 0;
  for (size_t i = 0; i < end_train; ++i) {
    train_tokens.push_back(examples[order[i]].tokens);
    longest_train = std::max<int64_t>(longest_train, static_cast<int64_t>(examples[order[i]].tokens.size()));
  }
  const Vocabulary vocab = Vocabulary::build(train_tokens, options.min_count);
  const int64_t steps = options.max_length > 0 ? options.max_length : longest_train;
  // Every example is padded to `steps` ids: one very long line must not make that a huge allocation.
  const int64_t bytes = static_cast<int64_t>(n) * steps * static_cast<int64_t>(sizeof(int32_t));
  if (options.max_length == 0 && bytes > physical_memory_bytes() / 4) {
    std::vector<int64_t> lengths;
    for (size_t i = 0; i < end_train; ++i) lengths.push_back(static_cast<int64_t>(examples[order[i]].tokens.size()));
    std::sort(lengths.begin(), lengths.end());
    const int64_t p99 = lengths[lengths.size() * 99 / 100];
    throw TextError("the longest training example has " + std::to_string(longest_train) + " tokens: padding all " +
                    std::to_string(n) + " examples to it needs " + std::to_string(bytes >> 20) +
                    " MiB, more than a quarter of this machine's memory; give a maximum length (--max-length; 99% " +
                    "of the training examples have at most " + std::to_string(p99) + " tokens)");
  }

  std::string source = std::string("text, ") + token_level_name(options.level) + " level:";
  for (const auto& file : file_of_label) source += " " + file;

  for (size_t s = 0; s < 3; ++s) {
    if (options.split[s] > 0 && ranges[s].first == ranges[s].second) {
      throw TextError(std::string("the ") + split_names[s] + " split is empty: " + std::to_string(n) +
                      " examples are too few for a fraction of " + format_fraction(options.split[s]));
    }
  }
  std::vector<SplitSummary> summaries;
  for (size_t s = 0; s < 3; ++s) {
    if (options.split[s] == 0) continue;
    const auto [first, last] = ranges[s];
    std::vector<const Example*> part;
    for (size_t i = first; i < last; ++i) part.push_back(&examples[order[i]]);
    summaries.push_back(
        write_split(part, vocab, steps, class_names, out_prefix + "-" + split_names[s] + ".h5", source, options));
    summaries.back().name = split_names[s];
  }
  return summaries;
}

}  // namespace shardnet::io
