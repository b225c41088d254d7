#include "core/inspection.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "core/upsample.h"

namespace shardnet {

int64_t last_spatial_layer(Net& net) {
  int64_t found = -1;
  for (size_t i = 0; i < net.size(); ++i) {
    const Shape& s = net.shape_after(i);
    if (s.size() != 3 || s[1] * s[2] <= 1) break;
    found = static_cast<int64_t>(i);
  }
  return found;
}

Tensor resize_map(const Tensor& map, int64_t height, int64_t width) {
  const int64_t in_h = map.dim(0), in_w = map.dim(1);
  Tensor out({height, width});
  for (int64_t y = 0; y < height; ++y) {
    const BilinearTap r = bilinear_tap(y, height, in_h);
    for (int64_t x = 0; x < width; ++x) {
      const BilinearTap c = bilinear_tap(x, width, in_w);
      const float top = (1 - c.frac) * map[r.low * in_w + c.low] + c.frac * map[r.low * in_w + c.high];
      const float bottom = (1 - c.frac) * map[r.high * in_w + c.low] + c.frac * map[r.high * in_w + c.high];
      out[y * width + x] = (1 - r.frac) * top + r.frac * bottom;
    }
  }
  return out;
}

ClassExplanation explain_class(Net& net, const Tensor& input, std::optional<int64_t> class_id) {
  if (input.rows() != 1) throw std::invalid_argument("explain_class takes one sample");
  const Shape& in_shape = net.input_shape();
  if (in_shape.size() < 2) throw std::invalid_argument("explain_class needs an image input (H, W) or (C, H, W)");
  const int64_t in_h = in_shape[in_shape.size() - 2], in_w = in_shape.back();
  const int64_t channels = in_shape.size() == 3 ? in_shape[0] : 1;
  // Grad-CAM reads one layer's maps and gradient, which must exist even if that layer is a ReLU
  // the net would run after its pool.
  struct KeepOutputs {
    Net& net;
    bool before = net.keeps_outputs();
    ~KeepOutputs() { net.keep_outputs(before); }
  } keep{net};
  net.keep_outputs(true);
  const Tensor& out = net.forward(input, Mode::kEval);
  const int64_t classes = out.row_size();
  ClassExplanation e;
  e.class_id = class_id.value_or(std::max_element(out.data(), out.data() + classes) - out.data());
  if (e.class_id < 0 || e.class_id >= classes) {
    throw std::invalid_argument("class " + std::to_string(e.class_id) + " is not one of the net's " +
                                std::to_string(classes) + " outputs");
  }
  e.score = out[e.class_id];
  Tensor seed(out.shape());
  seed[e.class_id] = 1.0f;
  Tensor d_input;
  net.backward_from(seed, &d_input);

  e.saliency = Tensor({in_h, in_w});
  for (int64_t p = 0; p < in_h * in_w; ++p) {
    float best = 0.0f;
    for (int64_t c = 0; c < channels; ++c) best = std::max(best, std::abs(d_input[c * in_h * in_w + p]));
    e.saliency[p] = best;
  }

  e.cam_layer = last_spatial_layer(net);
  if (e.cam_layer < 0) return e;
  const Tensor& maps = net.output(static_cast<size_t>(e.cam_layer));
  const Tensor& grads = net.output_gradient(static_cast<size_t>(e.cam_layer));
  const Shape& s = net.shape_after(static_cast<size_t>(e.cam_layer));
  const int64_t planes = s[0], pixels = s[1] * s[2];
  Tensor cam({s[1], s[2]});
  for (int64_t c = 0; c < planes; ++c) {
    double weight = 0.0;
    for (int64_t p = 0; p < pixels; ++p) weight += grads[c * pixels + p];
    weight /= static_cast<double>(pixels);
    for (int64_t p = 0; p < pixels; ++p) cam[p] += static_cast<float>(weight) * maps[c * pixels + p];
  }
  float top = 0.0f;
  for (float& v : cam.span()) top = std::max(top, v = std::max(v, 0.0f));
  if (top > 0.0f)
    for (float& v : cam.span()) v /= top;
  e.grad_cam = resize_map(cam, in_h, in_w);
  return e;
}

}  // namespace shardnet
