// CSV series (`shardnet convert csv`): parsed with and without a header, then cut into windows.
#include <sstream>

#include "io/csv_series.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace shardnet::io;
  const std::string text(reinterpret_cast<const char*>(data), size);
  for (HeaderMode mode : {HeaderMode::kAuto, HeaderMode::kNo}) {
    shardnet::fuzz::expect_clean_errors([&] {
      std::istringstream in(text);
      const Series series = read_csv_series(in, "fuzz.csv", mode);
      if (series.names.empty()) return;
      WindowOptions options;
      options.inputs = {0};
      options.targets = {static_cast<int64_t>(series.names.size()) - 1};
      options.window = 3;
      make_windows(series, options);
    });
  }
  return 0;
}
