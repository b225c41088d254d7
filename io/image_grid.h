#pragma once
// Pictures of tensors: tiles of (C, H, W) maps (grey or RGB) laid out on a grid and written as one
// PNG (libpng), for filters, feature maps, saliency and Grad-CAM maps, and reconstructions.
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace shardnet::io {

// 8-bit RGB pixels, row by row.
struct RgbImage {
  int64_t width = 0, height = 0;
  std::vector<uint8_t> pixels;  // width * height * 3
};

// Writes `image` as a PNG file; throws std::runtime_error naming the file when it cannot.
void write_png(const std::string& path, const RgbImage& image);

class ImageGrid {
 public:
  // Tiles of tile_h x tile_w pixels, `columns` to a row, each pixel drawn zoom x zoom, `gap` pixels
  // of grey between tiles.
  ImageGrid(int64_t columns, int64_t tile_h, int64_t tile_w, int64_t zoom = 1, int64_t gap = 1);
  // Appends a tile of `channels` (1: grey, 3: RGB) planes of tile_h x tile_w values; values from
  // lo to hi map to 0..255 (clamped). lo == hi draws mid-grey.
  void add(std::span<const float> planes, int64_t channels, float lo, float hi);
  // Appends an empty tile (the grid's background), to start a new row of related tiles.
  void skip();
  int64_t tiles() const { return static_cast<int64_t>(tiles_.size()); }
  RgbImage render() const;

 private:
  int64_t columns_, tile_h_, tile_w_, zoom_, gap_;
  std::vector<std::vector<uint8_t>> tiles_;  // RGB tile pixels; empty: skipped
};

// The smallest and largest of `values` (0, 0 when empty).
std::pair<float, float> value_range(std::span<const float> values);

// An RGB (3, H, W) tile in [0, 1]: `image` ((channels, H, W) values scaled by [lo, hi]) in grey or
// colour, blended half and half with `heat` (H x W values in [0, 1]) drawn in the jet colour map.
std::vector<float> heat_overlay(std::span<const float> image, int64_t channels, float lo, float hi,
                                std::span<const float> heat);

}  // namespace shardnet::io
