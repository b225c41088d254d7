#pragma once
// Upsampling of (C, H, W) maps by an integer factor, as PyTorch's nn.Upsample(scale_factor,
// mode): nearest (each value repeated factor x factor times) or bilinear with align_corners =
// False (source coordinate (o + 0.5) / factor - 0.5, clamped at the edges). No parameters.
#include <vector>

#include "core/layer.h"

namespace shardnet {

enum class UpsampleMode { kNearest, kBilinear };

// Bilinear resampling with align_corners = False (PyTorch's): output index o of out_size reads
// input samples `low` and `high` of in_size with weights 1 - frac and frac, its source position
// (o + 0.5) in / out - 0.5 clamped at the edges.
struct BilinearTap {
  int64_t low = 0, high = 0;
  float frac = 0.0f;
};
BilinearTap bilinear_tap(int64_t o, int64_t out_size, int64_t in_size);

class Upsample : public Layer {
 public:
  Upsample(std::string name, int64_t factor, UpsampleMode mode);
  std::string type() const override { return "upsample"; }
  Shape setup(const Shape& input) override;
  void forward(const Tensor& x, Tensor& y, Mode mode) override;
  void backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx) override;
  std::string describe() const override;
  int64_t factor() const { return factor_; }
  UpsampleMode mode() const { return mode_; }

 private:
  // One output row's (or column's) two source indices and their weights (nearest: one, weight 1).
  struct Tap {
    int64_t low = 0, high = 0;
    float low_weight = 1.0f, high_weight = 0.0f;
  };
  std::vector<Tap> taps(int64_t in_size) const;

  int64_t factor_;
  UpsampleMode mode_;
  int64_t channels_ = 0, in_h_ = 0, in_w_ = 0;
  std::vector<Tap> rows_, cols_;
};

}  // namespace shardnet
