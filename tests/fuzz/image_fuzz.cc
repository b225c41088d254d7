// JPEG and PNG decoding (`shardnet convert images`), then the channel conversion and resize.
#include "io/image_folder.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace shardnet::io;
  for (bool jpeg : {true, false}) {
    shardnet::fuzz::expect_clean_errors([&] {
      const Image image = jpeg ? decode_jpeg(data, size, "fuzz.jpg") : decode_png(data, size, "fuzz.png");
      resize_bilinear(convert_channels(image, 3), 5, 7);
    });
  }
  return 0;
}
