#pragma once
// A folder of labelled images, ROOT/<class>/*.{jpg,jpeg,png} (extensions in any case), to HDF5:
//   /data   (N, C, H, W) uint8, C = 3 (RGB) or 1 (gray: 0.299 R + 0.587 G + 0.114 B, ITU-R 601)
//   /label  (N,) int32 class ids; attribute "classes" = the class folder names, sorted
//   attributes: mean, std (per channel, of the pixel values scaled to [0, 1], from the training
//               file; the validation file gets the same), source
// Rows follow the sorted class names, then the sorted file names within each class. The last
// `val_per_class` files of each class go to a second file. Images are decoded on several threads,
// in blocks, and each block is appended in order: the output does not depend on the thread count.
// JPEGs are decoded by libjpeg(-turbo), PNGs by libpng; the format is taken from the file's first
// bytes, not its extension. A corrupt or truncated file is an ImageError naming it.
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace shardnet::io {

class ImageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Interleaved pixels: pixels[(y * width + x) * channels + c].
struct Image {
  int64_t height = 0, width = 0, channels = 0;
  std::vector<uint8_t> pixels;
};

// Decoding ---------------------------------------------------------------------------------------

// A JPEG or PNG file (by its magic bytes) as gray (1 channel) or RGB (3), whichever the file
// holds; a palette becomes RGB, alpha is composited onto black, 16-bit samples are reduced to 8.
Image read_image(const std::string& path);
// The same from bytes in memory; `name` is the file in error messages.
Image decode_jpeg(const uint8_t* bytes, size_t size, const std::string& name);
Image decode_png(const uint8_t* bytes, size_t size, const std::string& name);

// To 1 or 3 channels: gray is repeated into RGB; RGB becomes gray with the ITU-R 601 weights,
// (299 R + 587 G + 114 B) / 1000 rounded to the nearest integer.
Image convert_channels(const Image& image, int64_t channels);

// Bilinear resampling with pixel centres aligned (OpenCV's INTER_LINEAR, PyTorch's
// align_corners=False), in fixed point: deterministic and exact where the weights are k/2048.
// No low-pass filter first: strong downscaling aliases, as it does in those libraries.
Image resize_bilinear(const Image& image, int64_t height, int64_t width);

// What the converter stores of a file: read_image, convert_channels to `channels`, and
// resize_bilinear to height x width when it differs (height 0: kept as it is).
Image read_image_as(const std::string& path, int64_t channels, int64_t height, int64_t width);

// The folder ------------------------------------------------------------------------------------

struct ImageFolder {
  std::vector<std::string> classes;             // sorted folder names
  std::vector<std::vector<std::string>> files;  // per class: the image paths, sorted by name
  int64_t ignored = 0;                          // other files (and folders) under ROOT
};

bool has_image_extension(const std::string& name);  // .jpg, .jpeg, .png in any case

// Lists ROOT/<class>/ images. A missing ROOT, ROOT without class folders and a class folder
// without images are ImageErrors.
ImageFolder list_image_folder(const std::string& root);

// Conversion -------------------------------------------------------------------------------------

struct ImageOptions {
  int64_t channels = 3;           // 1 or 3
  int64_t height = 0, width = 0;  // resize to this; 0: every image must have the first one's size
  int64_t val_per_class = 0;      // the last K files of each class go to val_path
  std::string val_path;
  bool skip_bad = false;  // a file that does not decode is skipped (and counted), not an error
  int gzip_level = 0;
  int64_t threads = 1;
};

struct ImageFileSummary {
  std::string path;
  int64_t images = 0;
};

struct ImageConversion {
  std::vector<ImageFileSummary> files;  // the training file, then the validation file (if any)
  int64_t classes = 0;
  int64_t channels = 0, height = 0, width = 0;
  bool resized = false;
  std::vector<std::string> skipped;  // one "file: reason" per skipped image
  int64_t ignored = 0;
  std::vector<double> mean, std;  // per channel, of the training file, on [0, 1]
};

ImageConversion convert_image_folder(const std::string& root, const std::string& out_path, const ImageOptions& options);

}  // namespace shardnet::io
