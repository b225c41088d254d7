// Writes one generated test image for the shell tests: a smooth gradient (the JPEG-friendly
// pattern of tests/io/image_files.h), as PNG or JPEG (quality 95) by the file's extension.
//   make_test_image FILE.{png,jpg} HEIGHT WIDTH CHANNELS(1|3) SEED
#include <cstdio>
#include <cstdlib>
#include <string>

#include "tests/io/image_files.h"

int main(int argc, char** argv) {
  if (argc != 6) {
    std::fprintf(stderr, "usage: make_test_image FILE.{png,jpg} HEIGHT WIDTH CHANNELS SEED\n");
    return 2;
  }
  const std::string path = argv[1];
  const long height = std::atol(argv[2]), width = std::atol(argv[3]), channels = std::atol(argv[4]);
  if (height < 1 || width < 1 || (channels != 1 && channels != 3)) {
    std::fprintf(stderr, "make_test_image: bad size or channels\n");
    return 2;
  }
  const auto image = shardnet::testing::smooth_image(height, width, channels, std::atoi(argv[5]));
  const std::string ext = path.size() >= 4 ? path.substr(path.size() - 4) : "";
  if (ext == ".png" || ext == ".PNG") {
    shardnet::testing::write_png(path, image);
  } else {
    shardnet::testing::write_jpeg(path, image, 95);
  }
  return 0;
}
