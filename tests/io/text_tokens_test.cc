#include "io/text_tokens.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <set>

#include "core/tensor.h"
#include "io/dataset.h"
#include "tests/io/test_files.h"

namespace shardnet::io {
namespace {

using testing::expect_error;
using testing::TempDir;

using testing::write_text;

using Strings = std::vector<std::string>;

TEST(TextTokens, ValidatesUtf8) {
  EXPECT_EQ(find_invalid_utf8("plain ascii"), std::string_view::npos);
  EXPECT_EQ(find_invalid_utf8("é 日本 🙂"), std::string_view::npos);
  EXPECT_EQ(find_invalid_utf8("ab\xff"), 2u);
  EXPECT_EQ(find_invalid_utf8("\xc3"), 0u);              // truncated
  EXPECT_EQ(find_invalid_utf8("a\xc3(b"), 1u);           // bad continuation
  EXPECT_EQ(find_invalid_utf8("\xc0\xaf"), 0u);          // overlong '/'
  EXPECT_EQ(find_invalid_utf8("\xe0\x80\xaf"), 0u);      // overlong, 3 bytes
  EXPECT_EQ(find_invalid_utf8("\xed\xa0\x80"), 0u);      // surrogate
  EXPECT_EQ(find_invalid_utf8("\xf4\x90\x80\x80"), 0u);  // past U+10FFFF
  EXPECT_EQ(find_invalid_utf8("ok\xf0\x9f\x99\x82"), std::string_view::npos);
}

TEST(TextTokens, SplitsCodePointsAndWords) {
  EXPECT_EQ(split_code_points("aé日🙂"), (Strings{"a", "é", "日", "🙂"}));
  EXPECT_EQ(tokenize("  the rock's\tgreat  ", TokenLevel::kWord, false), (Strings{"the", "rock's", "great"}));
  EXPECT_EQ(tokenize("Zoë", TokenLevel::kChar, false), (Strings{"Z", "o", "ë"}));
  EXPECT_EQ(tokenize("ÉCOLE", TokenLevel::kChar, true), (Strings{"é", "c", "o", "l", "e"}));
}

TEST(TextTokens, LowercasesLatinGreekAndCyrillic) {
  EXPECT_EQ(lowercase_utf8("ÉCOLE Łódź ŻÓŁW Straße ΑΒΓ Привет Ÿ 日本 ×"), "école łódź żółw straße αβγ привет ÿ 日本 ×");
}

TEST(TextTokens, ReadsNonEmptyTrimmedLines) {
  TempDir dir;
  write_text(dir.file("a.txt"), "\xEF\xBB\xBFone\r\n\n  two words \n   \nthree");
  EXPECT_EQ(read_examples(dir.file("a.txt")), (Strings{"one", "two words", "three"}));
}

TEST(TextTokens, ReportsBadFiles) {
  TempDir dir;
  write_text(dir.file("bad.txt"), "fine\nalso fine\n\xff\xfe oops\n");
  expect_error([&] { read_examples(dir.file("bad.txt")); }, {"bad.txt:3: not valid UTF-8 (byte 0xff at column 1)"});
  write_text(dir.file("empty.txt"), "\n \n");
  expect_error([&] { read_examples(dir.file("empty.txt")); }, {"empty.txt: no examples"});
  expect_error([&] { read_examples(dir.file("missing.txt")); }, {"missing.txt: cannot open"});
}

TEST(TextTokens, NamesClassesAfterTheirFiles) {
  EXPECT_EQ(class_name_for("../shared/data/names/Arabic.txt"), "Arabic");
  EXPECT_EQ(class_name_for("rt-polarity/rt-polarity.pos"), "rt-polarity.pos");
  EXPECT_EQ(class_name_for("plain"), "plain");
}

TEST(TextTokens, VocabularyIsOrderedByCountWithPadAndUnknownFirst) {
  const Vocabulary v = Vocabulary::build({{"b", "a", "c", "b"}, {"a", "b", "<unk>", "d"}}, 2);
  EXPECT_EQ(v.tokens(), (Strings{"<pad>", "<unk>", "b", "a"}));
  EXPECT_EQ(v.id("b"), 2);
  EXPECT_EQ(v.id("a"), 3);
  EXPECT_EQ(v.id("c"), kUnknownId);  // seen once: below min_count
  EXPECT_EQ(v.id("never"), kUnknownId);
  EXPECT_EQ(v.id("<pad>"), kUnknownId);  // text that spells a special token is unknown, not padding
  const Vocabulary all = Vocabulary::build({{"b", "a"}}, 1);
  EXPECT_EQ(all.tokens(), (Strings{"<pad>", "<unk>", "a", "b"}));  // ties by byte order
}

// Decodes every row of a split back to "class|text" (char level: tokens joined without spaces).
std::multiset<std::string> decode(const std::string& path, const std::string& separator) {
  Dataset data(path);
  std::vector<int64_t> rows(static_cast<size_t>(data.size()));
  for (size_t i = 0; i < rows.size(); ++i) rows[i] = static_cast<int64_t>(i);
  Batch batch;
  data.read(rows, batch);
  std::multiset<std::string> out;
  const int64_t steps = data.steps();
  for (int64_t i = 0; i < data.size(); ++i) {
    std::string text;
    for (int64_t t = 0; t < batch.lengths[i]; ++t) {
      text += (t ? separator : "") + data.vocab()[static_cast<size_t>(batch.data[i * steps + t])];
    }
    for (int64_t t = batch.lengths[i]; t < steps; ++t) EXPECT_EQ(batch.data[i * steps + t], 0.0f) << "padding";
    out.insert(data.class_names()[batch.labels[i]] + "|" + text);
  }
  return out;
}

class TextConversion : public ::testing::Test {
 protected:
  void SetUp() override {
    write_text(dir.file("Zulu.txt"), "Ngubane\nDlamini\nDlamini\nZuma\n");  // a duplicate is kept
    write_text(dir.file("Alpha.txt"), "Ångström\nAbel\n");
    write_text(dir.file("Mid.txt"), "Müller\nMeier\nMaier\nMoser\n");
    files = {dir.file("Zulu.txt"), dir.file("Alpha.txt"), dir.file("Mid.txt")};
  }
  TempDir dir;
  Strings files;
};

TEST_F(TextConversion, EveryExampleRoundTripsThroughTheTrainingFile) {
  TextOptions o;
  o.split = {1, 0, 0};
  const auto summaries = convert_text(files, dir.file("all"), o);
  ASSERT_EQ(summaries.size(), 1u);
  EXPECT_EQ(summaries[0].examples, 10);
  EXPECT_EQ(summaries[0].max_length, 8);  // "Ångström"
  EXPECT_EQ(summaries[0].truncated, 0);
  Dataset data(dir.file("all-train.h5"));
  EXPECT_EQ(data.class_names(), (Strings{"Alpha", "Mid", "Zulu"}));  // sorted by name
  EXPECT_EQ(data.data_type(), ElementType::kInt32);
  EXPECT_EQ(data.vocab()[0], "<pad>");
  EXPECT_EQ(data.vocab()[1], "<unk>");
  EXPECT_EQ(decode(dir.file("all-train.h5"), ""),
            (std::multiset<std::string>{"Zulu|Ngubane", "Zulu|Dlamini", "Zulu|Dlamini", "Zulu|Zuma", "Alpha|Ångström",
                                        "Alpha|Abel", "Mid|Müller", "Mid|Meier", "Mid|Maier", "Mid|Moser"}));
}

TEST_F(TextConversion, SplitsBySeedAndBuildsTheVocabularyFromTrainingOnly) {
  TextOptions o;
  o.split = {0.6, 0.2, 0.2};
  o.seed = 7;
  const auto summaries = convert_text(files, dir.file("s"), o);
  ASSERT_EQ(summaries.size(), 3u);
  EXPECT_EQ(summaries[0].examples + summaries[1].examples + summaries[2].examples, 10);
  EXPECT_EQ(summaries[0].examples, 6);
  std::multiset<std::string> all;
  for (const char* split : {"train", "val", "test"}) {
    for (auto& s : decode(dir.file(std::string("s-") + split + ".h5"), "")) all.insert(s);
  }
  EXPECT_EQ(all.size(), 10u);
  // Every vocabulary token occurs in some training example.
  Dataset train(dir.file("s-train.h5"));
  const auto train_examples = decode(dir.file("s-train.h5"), "");
  for (size_t id = 2; id < train.vocab().size(); ++id) {
    const bool seen = std::any_of(train_examples.begin(), train_examples.end(), [&](const std::string& e) {
      return e.substr(e.find('|') + 1).find(train.vocab()[id]) != std::string::npos;
    });
    EXPECT_TRUE(seen) << train.vocab()[id];
  }
  // The same seed gives the same split; another seed another.
  convert_text(files, dir.file("again"), o);
  EXPECT_EQ(decode(dir.file("again-test.h5"), ""), decode(dir.file("s-test.h5"), ""));
  o.seed = 8;
  convert_text(files, dir.file("other"), o);
  EXPECT_NE(decode(dir.file("other-train.h5"), ""), decode(dir.file("s-train.h5"), ""));
}

TEST_F(TextConversion, ClassNamesFlagFixesTheOrderAndMaxLengthTruncates) {
  TextOptions o;
  o.split = {1, 0, 0};
  o.class_names = {"z", "a", "m"};
  o.max_length = 5;
  o.lowercase = true;
  const auto summaries = convert_text(files, dir.file("t"), o);
  EXPECT_EQ(summaries[0].max_length, 5);
  EXPECT_EQ(summaries[0].longest, 8);
  EXPECT_EQ(summaries[0].truncated, 5);  // Ngubane, Dlamini x2, Ångström, Müller
  Dataset data(dir.file("t-train.h5"));
  EXPECT_EQ(data.class_names(), (Strings{"z", "a", "m"}));
  const auto decoded = decode(dir.file("t-train.h5"), "");
  EXPECT_EQ(decoded.count("a|ångst"), 1u);
  EXPECT_EQ(decoded.count("z|dlami"), 2u);
  EXPECT_EQ(decoded.count("z|zuma"), 1u);
}

TEST_F(TextConversion, WordLevelUsesUnknownForRareWords) {
  write_text(dir.file("pos"), "a good film\na good good plot\n");
  write_text(dir.file("neg"), "a bad film\n");
  TextOptions o;
  o.level = TokenLevel::kWord;
  o.split = {1, 0, 0};
  o.min_count = 2;
  o.class_names = {"pos", "neg"};
  convert_text({dir.file("pos"), dir.file("neg")}, dir.file("w"), o);
  EXPECT_EQ(decode(dir.file("w-train.h5"), " "),
            (std::multiset<std::string>{"pos|a good film", "pos|a good good <unk>", "neg|a <unk> film"}));
}

TEST_F(TextConversion, OneHugeLineIsRefusedWithAHintNotPaddedTo) {
  // Every example is padded to the longest: 2,001 examples padded to one line of L characters need
  // 2,001 x L x 4 bytes. L is chosen past a quarter of this machine's memory.
  const int64_t examples = 2001;
  const int64_t longest = physical_memory_bytes() / 4 / (examples * 4) + 1000;
  std::string text;
  for (int i = 0; i < 2000; ++i) text += "short line\n";
  text += std::string(static_cast<size_t>(longest), 'x') + "\n";
  write_text(dir.file("Long.txt"), text);
  TextOptions o;
  o.split = {1, 0, 0};
  expect_error([&] { convert_text({dir.file("Long.txt")}, dir.file("long"), o); },
               {"the longest training example has " + std::to_string(longest) + " tokens", "--max-length",
                "99% of the training examples have at most 10 tokens"});
  o.max_length = 16;  // with a maximum length it converts
  EXPECT_EQ(convert_text({dir.file("Long.txt")}, dir.file("long"), o)[0].truncated, 1);
}

TEST_F(TextConversion, ReportsBadInput) {
  TextOptions o;
  write_text(dir.file("bad.txt"), "ok\n\xff\xfe\n");
  expect_error(
      [&] {
        convert_text({files[0], dir.file("bad.txt")}, dir.file("x"), o);
      },
      {"bad.txt:2: not valid UTF-8"});
  write_text(dir.file("empty.txt"), "");
  expect_error([&] { convert_text({files[0], dir.file("empty.txt")}, dir.file("x"), o); }, {"empty.txt: no examples"});
  expect_error([&] { convert_text({files[0], dir.file("nope.txt")}, dir.file("x"), o); }, {"nope.txt: cannot open"});
  std::filesystem::create_directories(dir.file("other"));
  write_text(dir.file("other/Zulu.txt"), "x\n");
  expect_error(
      [&] {
        convert_text({files[0], dir.file("other/Zulu.txt")}, dir.file("x"), o);
      },
      {"two files give the class 'Zulu'"});
  o.class_names = {"one"};
  expect_error([&] { convert_text(files, dir.file("x"), o); }, {"1 class names for 3 files"});
  o.class_names = {};
  o.split = {0.5, 0.5, 0.5};
  expect_error([&] { convert_text(files, dir.file("x"), o); }, {"add up to 1"});
  o.split = {0.98, 0.01, 0.01};
  expect_error([&] { convert_text(files, dir.file("x"), o); }, {"the val split is empty"});
  EXPECT_FALSE(std::filesystem::exists(dir.file("x-train.h5")));  // nothing written before the checks
}

}  // namespace
}  // namespace shardnet::io
