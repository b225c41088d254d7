#pragma once
// Image augmentation as the first layer of a model, active in training only: each sample is shifted
// by up to `shift` pixels in each direction (a random crop of the image padded with zeros, or with
// ShiftFill::kReflect its mirror image at the border, as torchvision's RandomCrop(padding_mode='reflect')
// and airbench pad) and, with
// FlipMode::kRandom, mirrored left-right with probability 1/2; with `cutout` = s, a square of s x s pixels
// centred anywhere in the image (clipped at its border) is set to zero (DeVries & Taylor 2017). The
// draws are keyed by (seed, epoch, sample index), as dropout's are, so every rank count sees the same
// augmented batch. With FlipMode::kAlternate (airbench's alternating flip, Jordan 2024) a sample's flip is
// drawn once per run and inverted every other epoch, so consecutive epochs see both mirror images.
#include "core/layer.h"

namespace shardnet {

// Model files: flip = 0 | 1 | alternate.
enum class FlipMode { kNone, kRandom, kAlternate };
// Model files: fill = zero | reflect: what a shift brings in at the border.
enum class ShiftFill { kZero, kReflect };

class Augment : public Layer {
 public:
  Augment(std::string name, int64_t shift, FlipMode flip, int64_t cutout = 0, ShiftFill fill = ShiftFill::kZero);
  std::string type() const override { return "augment"; }
  bool is_augmentation() const override { return true; }
  Shape setup(const Shape& input) override;
  void forward(const Tensor& x, Tensor& y, Mode mode) override;
  void backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx) override;
  std::string describe() const override;

 private:
  struct Draw {
    int64_t dy, dx;
    bool flip;
    int64_t cut_top, cut_left;  // the cutout square's first row and column (may be negative)
    bool cut(int64_t h, int64_t w, int64_t size) const {
      return h >= cut_top && h < cut_top + size && w >= cut_left && w < cut_left + size;
    }
  };
  Draw draw(int64_t sample_row) const;
  // The source index of shifted index `i` in [0, size): itself, its mirror at the border (reflect)
  // or -1 (zero fill, outside).
  int64_t source(int64_t i, int64_t size) const;

  int64_t shift_;
  FlipMode flip_;
  int64_t cutout_;
  ShiftFill fill_;
  int64_t channels_ = 0, height_ = 0, width_ = 0;
  std::vector<Draw> draws_;  // of the last training batch
};

}  // namespace shardnet
