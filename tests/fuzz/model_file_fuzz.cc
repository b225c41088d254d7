// Model files: any text is a net or one error naming the line (core/model_file.h).
#include "core/model_file.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  shardnet::fuzz::expect_clean_errors([&] {
    auto net = shardnet::parse_model(text, "fuzz.cfg");
    net->param_count();
  });
  return 0;
}
