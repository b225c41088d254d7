#include "io/image_grid.h"

#include <png.h>

#include <algorithm>
#include <cmath>
#include <cstring>

namespace shardnet::io {

namespace {
constexpr uint8_t kBackground = 96;

uint8_t to_byte(float v, float lo, float hi) {
  if (!(hi > lo)) return 128;
  const float t = std::clamp((v - lo) / (hi - lo), 0.0f, 1.0f);
  return static_cast<uint8_t>(std::lround(t * 255.0f));
}

// The jet colour map: blue (0) through cyan, yellow to red (1).
void jet(float t, float rgb[3]) {
  t = std::clamp(t, 0.0f, 1.0f);
  rgb[0] = std::clamp(1.5f - std::abs(4.0f * t - 3.0f), 0.0f, 1.0f);
  rgb[1] = std::clamp(1.5f - std::abs(4.0f * t - 2.0f), 0.0f, 1.0f);
  rgb[2] = std::clamp(1.5f - std::abs(4.0f * t - 1.0f), 0.0f, 1.0f);
}
}  // namespace

void write_png(const std::string& path, const RgbImage& image) {
  if (image.width <= 0 || image.height <= 0 ||
      static_cast<int64_t>(image.pixels.size()) != image.width * image.height * 3) {
    throw std::runtime_error(path + ": no image to write (" + std::to_string(image.width) + "x" +
                             std::to_string(image.height) + ")");
  }
  png_image png;
  std::memset(&png, 0, sizeof png);
  png.version = PNG_IMAGE_VERSION;
  png.width = static_cast<png_uint_32>(image.width);
  png.height = static_cast<png_uint_32>(image.height);
  png.format = PNG_FORMAT_RGB;
  if (!png_image_write_to_file(&png, path.c_str(), 0, image.pixels.data(), 0, nullptr)) {
    const std::string message = png.message;
    png_image_free(&png);
    throw std::runtime_error(path + ": cannot write the PNG: " + message);
  }
}

ImageGrid::ImageGrid(int64_t columns, int64_t tile_h, int64_t tile_w, int64_t zoom, int64_t gap)
    : columns_(std::max<int64_t>(columns, 1)),
      tile_h_(tile_h),
      tile_w_(tile_w),
      zoom_(std::max<int64_t>(zoom, 1)),
      gap_(std::max<int64_t>(gap, 0)) {
  if (tile_h <= 0 || tile_w <= 0) throw std::invalid_argument("image grid: tiles need a positive size");
}

void ImageGrid::add(std::span<const float> planes, int64_t channels, float lo, float hi) {
  const int64_t plane = tile_h_ * tile_w_;
  if ((channels != 1 && channels != 3) || static_cast<int64_t>(planes.size()) != channels * plane) {
    throw std::invalid_argument("image grid: a tile needs 1 or 3 planes of " + std::to_string(tile_h_) + "x" +
                                std::to_string(tile_w_) + " values, got " + std::to_string(planes.size()));
  }
  std::vector<uint8_t> tile(static_cast<size_t>(plane * 3));
  for (int64_t p = 0; p < plane; ++p) {
    for (int64_t c = 0; c < 3; ++c) {
      const float v = planes[static_cast<size_t>((channels == 1 ? 0 : c) * plane + p)];
      tile[static_cast<size_t>(p * 3 + c)] = to_byte(v, lo, hi);
    }
  }
  tiles_.push_back(std::move(tile));
}

void ImageGrid::skip() { tiles_.emplace_back(); }

RgbImage ImageGrid::render() const {
  const int64_t count = std::max<int64_t>(tiles(), 1);
  const int64_t cols = std::min(columns_, count), rows = (count + columns_ - 1) / columns_;
  const int64_t cell_h = tile_h_ * zoom_ + gap_, cell_w = tile_w_ * zoom_ + gap_;
  RgbImage image;
  image.width = cols * cell_w + gap_;
  image.height = rows * cell_h + gap_;
  image.pixels.assign(static_cast<size_t>(image.width * image.height * 3), kBackground);
  for (int64_t t = 0; t < tiles(); ++t) {
    const std::vector<uint8_t>& tile = tiles_[static_cast<size_t>(t)];
    if (tile.empty()) continue;
    const int64_t top = gap_ + (t / columns_) * cell_h, left = gap_ + (t % columns_) * cell_w;
    for (int64_t y = 0; y < tile_h_ * zoom_; ++y) {
      for (int64_t x = 0; x < tile_w_ * zoom_; ++x) {
        const uint8_t* src = tile.data() + ((y / zoom_) * tile_w_ + x / zoom_) * 3;
        uint8_t* dst = image.pixels.data() + ((top + y) * image.width + left + x) * 3;
        std::copy_n(src, 3, dst);
      }
    }
  }
  return image;
}

std::pair<float, float> value_range(std::span<const float> values) {
  if (values.empty()) return {0.0f, 0.0f};
  const auto [lo, hi] = std::minmax_element(values.begin(), values.end());
  return {*lo, *hi};
}

std::vector<float> heat_overlay(std::span<const float> image, int64_t channels, float lo, float hi,
                                std::span<const float> heat) {
  const size_t plane = heat.size();
  if (image.size() != plane * static_cast<size_t>(channels) || (channels != 1 && channels != 3)) {
    throw std::invalid_argument("heat overlay: the image and the heat map differ in size");
  }
  std::vector<float> out(plane * 3);
  const float span = hi > lo ? hi - lo : 1.0f;
  for (size_t p = 0; p < plane; ++p) {
    float colour[3];
    jet(heat[p], colour);
    for (size_t c = 0; c < 3; ++c) {
      const float v = (image[(channels == 1 ? 0 : c) * plane + p] - lo) / span;
      out[c * plane + p] = 0.5f * std::clamp(v, 0.0f, 1.0f) + 0.5f * colour[c];
    }
  }
  return out;
}

}  // namespace shardnet::io
