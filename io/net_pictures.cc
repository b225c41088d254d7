#include "io/net_pictures.h"

#include <cctype>
#include <filesystem>
#include <stdexcept>

#include "core/conv2d.h"
#include "io/image_grid.h"

namespace shardnet::io {

namespace {
// Tiles are drawn about this many pixels high: MNIST's 28 x 28 at zoom 4, 5 x 5 filters at 22.
constexpr int64_t kTileTarget = 112;

int64_t zoom_for(int64_t size) { return std::max<int64_t>(1, kTileTarget / std::max<int64_t>(size, 1)); }

struct ImageShape {
  int64_t channels, height, width;
};

ImageShape image_shape(const Shape& s) {
  if (s.size() == 2) return {1, s[0], s[1]};
  if (s.size() == 3) return {s[0], s[1], s[2]};
  throw std::invalid_argument("pictures need (H, W) or (C, H, W) samples, got " + shape_string(s));
}

// One sample as a tile: RGB for 3 channels, else its first channel in grey, scaled to its range.
void add_image(ImageGrid& grid, std::span<const float> values, const ImageShape& s) {
  const int64_t shown = s.channels == 3 ? 3 : 1;
  const auto tile = values.subspan(0, static_cast<size_t>(shown * s.height * s.width));
  const auto [lo, hi] = value_range(tile);
  grid.add(tile, shown, lo, hi);
}

std::string safe_file_name(const std::string& name) {
  std::string out;
  for (char c : name) out += std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' ? c : '_';
  return out;
}
}  // namespace

bool write_filters_png(Net& net, const std::string& path) {
  for (size_t i = 0; i < net.size(); ++i) {
    auto* conv = dynamic_cast<Conv2D*>(&net.layer(i));
    if (conv == nullptr) continue;
    const Tensor& w = conv->weight().value;  // (filters, channels, kh, kw)
    const int64_t filters = w.dim(0), channels = w.dim(1), kh = w.dim(2), kw = w.dim(3);
    ImageGrid grid(std::min<int64_t>(filters, 16), kh, kw, zoom_for(std::max(kh, kw)), 2);
    for (int64_t f = 0; f < filters; ++f) {
      const std::span<const float> filter(w.data() + f * channels * kh * kw, static_cast<size_t>(channels * kh * kw));
      add_image(grid, filter, {channels, kh, kw});
    }
    write_png(path, grid.render());
    return true;
  }
  return false;
}

std::vector<std::string> write_feature_map_pngs(Net& net, const std::string& dir, int64_t max_maps) {
  std::filesystem::create_directories(dir);
  std::vector<std::string> written;
  for (size_t i = 0; i < net.size(); ++i) {
    const Shape& s = net.shape_after(i);
    if (s.size() != 3 || s[1] * s[2] <= 1) continue;
    const Tensor& out = net.output(i);
    const int64_t maps = std::min(s[0], max_maps), plane = s[1] * s[2];
    ImageGrid grid(std::min<int64_t>(maps, 16), s[1], s[2], zoom_for(std::max(s[1], s[2])), 2);
    for (int64_t c = 0; c < maps; ++c) {
      const std::span<const float> map(out.data() + c * plane, static_cast<size_t>(plane));
      const auto [lo, hi] = value_range(map);
      grid.add(map, 1, lo, hi);
    }
    std::string file = dir + "/";
    if (i < 10) file += '0';
    file += std::to_string(i);
    file += '_';
    file += safe_file_name(net.layer(i).name());
    file += ".png";
    written.push_back(file);
    write_png(written.back(), grid.render());
  }
  return written;
}

std::vector<std::string> write_explanation_pngs(const Tensor& input, const Shape& sample_shape,
                                                const ClassExplanation& explanation, const std::string& dir) {
  const ImageShape s = image_shape(sample_shape);
  const std::span<const float> image = input.span();
  const int64_t shown = s.channels == 3 ? 3 : 1;
  const auto first_planes = image.subspan(0, static_cast<size_t>(shown * s.height * s.width));
  const auto [lo, hi] = value_range(first_planes);
  const int64_t zoom = zoom_for(std::max(s.height, s.width));
  std::vector<std::string> written;

  ImageGrid saliency(3, s.height, s.width, zoom, 2);
  add_image(saliency, image, s);
  const auto [s_lo, s_hi] = value_range(explanation.saliency.span());
  saliency.add(explanation.saliency.span(), 1, s_lo, s_hi);
  std::vector<float> heat(explanation.saliency.span().begin(), explanation.saliency.span().end());
  for (float& v : heat) v = s_hi > s_lo ? (v - s_lo) / (s_hi - s_lo) : 0.0f;
  saliency.add(heat_overlay(first_planes, shown, lo, hi, heat), 3, 0.0f, 1.0f);
  written.push_back(dir + "/saliency.png");
  write_png(written.back(), saliency.render());

  if (explanation.grad_cam.numel() > 0) {
    ImageGrid cam(2, s.height, s.width, zoom, 2);
    add_image(cam, image, s);
    cam.add(heat_overlay(first_planes, shown, lo, hi, explanation.grad_cam.span()), 3, 0.0f, 1.0f);
    written.push_back(dir + "/gradcam.png");
    write_png(written.back(), cam.render());
  }
  return written;
}

void write_reconstructions_png(Net& net, const Tensor& images, const std::string& path, int64_t per_row) {
  if (net.output_shape() != net.input_shape()) {
    throw std::invalid_argument("reconstructions need a net whose output has its input's shape " +
                                shape_string(net.input_shape()) + ", this one puts out " +
                                shape_string(net.output_shape()));
  }
  const ImageShape s = image_shape(net.input_shape());
  const Tensor& out = net.forward(images, Mode::kEval);
  const int64_t n = images.rows(), size = images.row_size();
  ImageGrid grid(per_row, s.height, s.width, zoom_for(std::max(s.height, s.width)) / 2 + 1, 2);
  for (int64_t first = 0; first < n; first += per_row) {
    const int64_t count = std::min(per_row, n - first);
    for (const Tensor* t : {&images, &out}) {
      for (int64_t i = first; i < first + per_row; ++i) {
        if (i >= first + count) {
          grid.skip();
          continue;
        }
        // Both rows on the originals' scale, so that a faint reconstruction looks faint.
        const std::span<const float> original(images.data() + i * size, static_cast<size_t>(size));
        const auto [lo, hi] = value_range(original);
        const int64_t shown = s.channels == 3 ? 3 : 1;
        grid.add(std::span<const float>(t->data() + i * size, static_cast<size_t>(shown * s.height * s.width)), shown,
                 lo, hi);
      }
    }
  }
  write_png(path, grid.render());
}

}  // namespace shardnet::io
