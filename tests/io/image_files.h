#pragma once
// Writes test images with libpng and libjpeg (the encoders the converter does not need), and
// makes images of known pixels: noise for exact (PNG) round trips, smooth gradients for JPEG.
#include <jpeglib.h>
#include <png.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>

#include "io/image_folder.h"

namespace shardnet::testing {

// PNG, 8-bit gray or RGB, through libpng's simplified API.
inline void write_png(const std::string& path, const io::Image& image) {
  png_image png;
  std::memset(&png, 0, sizeof png);
  png.version = PNG_IMAGE_VERSION;
  png.width = static_cast<png_uint_32>(image.width);
  png.height = static_cast<png_uint_32>(image.height);
  png.format = image.channels == 1 ? PNG_FORMAT_GRAY : PNG_FORMAT_RGB;
  if (!png_image_write_to_file(&png, path.c_str(), 0, image.pixels.data(), 0, nullptr)) {
    throw std::runtime_error(path + ": cannot write the PNG: " + png.message);
  }
}

// Baseline (or progressive) JPEG, gray or YCbCr, with libjpeg's default (exiting) error handler:
// tests only.
inline void write_jpeg(const std::string& path, const io::Image& image, int quality = 95, bool progressive = false) {
  FILE* file = std::fopen(path.c_str(), "wb");
  if (file == nullptr) throw std::runtime_error(path + ": cannot create");
  jpeg_compress_struct cinfo;
  jpeg_error_mgr err;
  cinfo.err = jpeg_std_error(&err);
  jpeg_create_compress(&cinfo);
  jpeg_stdio_dest(&cinfo, file);
  cinfo.image_width = static_cast<JDIMENSION>(image.width);
  cinfo.image_height = static_cast<JDIMENSION>(image.height);
  cinfo.input_components = static_cast<int>(image.channels);
  cinfo.in_color_space = image.channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_set_defaults(&cinfo);
  jpeg_set_quality(&cinfo, quality, TRUE);
  if (progressive) jpeg_simple_progression(&cinfo);
  jpeg_start_compress(&cinfo, TRUE);
  const size_t stride = static_cast<size_t>(image.width * image.channels);
  while (cinfo.next_scanline < cinfo.image_height) {
    JSAMPROW row = const_cast<uint8_t*>(image.pixels.data()) + cinfo.next_scanline * stride;
    jpeg_write_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_compress(&cinfo);
  jpeg_destroy_compress(&cinfo);
  std::fclose(file);
}

inline io::Image blank_image(int64_t height, int64_t width, int64_t channels) {
  io::Image image;
  image.height = height;
  image.width = width;
  image.channels = channels;
  image.pixels.assign(static_cast<size_t>(height * width * channels), 0);
  return image;
}

// Every byte from a fixed-seed LCG: the worst case for lossy compression, exact for PNG.
inline io::Image noise_image(int64_t height, int64_t width, int64_t channels, uint32_t seed) {
  io::Image image = blank_image(height, width, channels);
  uint32_t state = seed * 2654435761u + 12345u;
  for (auto& p : image.pixels) {
    state = state * 1664525u + 1013904223u;
    p = static_cast<uint8_t>(state >> 24);
  }
  return image;
}

// Smooth gradients and a slow wave per channel, shifted by `seed`: JPEG keeps these well.
inline io::Image smooth_image(int64_t height, int64_t width, int64_t channels, int seed) {
  io::Image image = blank_image(height, width, channels);
  for (int64_t y = 0; y < height; ++y) {
    for (int64_t x = 0; x < width; ++x) {
      for (int64_t c = 0; c < channels; ++c) {
        const double fx = static_cast<double>(x) / static_cast<double>(width);
        const double fy = static_cast<double>(y) / static_cast<double>(height);
        const double v = 128 + 60 * std::sin(6.0 * fx + 2.0 * static_cast<double>(c + seed)) +
                         50 * std::cos(4.0 * fy + static_cast<double>(seed)) + 10 * (fx - fy);
        image.pixels[static_cast<size_t>((y * width + x) * channels + c)] =
            static_cast<uint8_t>(std::lround(std::clamp(v, 0.0, 255.0)));
      }
    }
  }
  return image;
}

}  // namespace shardnet::testing
