// Text examples (`shardnet convert text`): UTF-8 checks, lower-casing and tokenizing any bytes.
#include "io/text_tokens.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace shardnet::io;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  shardnet::fuzz::expect_clean_errors([&] {
    if (find_invalid_utf8(text) != std::string_view::npos) return;  // refused by the converter
    const std::string lower = lowercase_utf8(text);
    split_code_points(lower);
    for (TokenLevel level : {TokenLevel::kChar, TokenLevel::kWord}) {
      auto tokens = tokenize(text, level, true);
      Vocabulary::build({tokens}, 1);
    }
  });
  return 0;
}
