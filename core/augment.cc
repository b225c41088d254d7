#include "core/augment.h"

#include <algorithm>
#include <cassert>
#include <stdexcept>

#include "core/layer_registry.h"
#include "core/random.h"

namespace shardnet {

Augment::Augment(std::string name, int64_t shift, FlipMode flip, int64_t cutout, ShiftFill fill)
    : Layer(std::move(name)), shift_(shift), flip_(flip), cutout_(cutout), fill_(fill) {
  if (shift < 0) throw std::invalid_argument("augment: shift must be >= 0");
  if (cutout < 0) throw std::invalid_argument("augment: cutout must be >= 0");
}

Shape Augment::setup(const Shape& input) {
  if (input.size() != 3) {
    throw ShapeError("augment needs a (channels, height, width) input, got " + shape_string(input));
  }
  channels_ = input[0];
  height_ = input[1];
  width_ = input[2];
  if (fill_ == ShiftFill::kReflect && shift_ >= std::min(height_, width_)) {
    throw ShapeError("augment: a reflected shift of " + std::to_string(shift_) +
                     " needs images larger than that, got " + shape_string(input));
  }
  return input;
}

Augment::Draw Augment::draw(int64_t sample_row) const {
  CounterRng rng(hash_key(context_->seed, 0xa06e47, static_cast<uint64_t>(context_->epoch)),
                 static_cast<uint64_t>(sample_row));
  const uint64_t span = static_cast<uint64_t>(2 * shift_ + 1);
  Draw d;
  d.dy = static_cast<int64_t>(rng.below(span)) - shift_;
  d.dx = static_cast<int64_t>(rng.below(span)) - shift_;
  d.flip = flip_ != FlipMode::kNone && rng.below(2) == 1;  // no draw without flipping (the cutout stream)
  if (flip_ == FlipMode::kAlternate) {
    CounterRng run_rng(hash_key(context_->seed, 0xa17f11, 0), static_cast<uint64_t>(sample_row));
    d.flip = (run_rng.below(2) == 1) != (context_->epoch % 2 == 1);
  }
  d.cut_top = d.cut_left = 0;
  if (cutout_ > 0) {
    d.cut_top = static_cast<int64_t>(rng.below(static_cast<uint64_t>(height_))) - cutout_ / 2;
    d.cut_left = static_cast<int64_t>(rng.below(static_cast<uint64_t>(width_))) - cutout_ / 2;
  }
  return d;
}

int64_t Augment::source(int64_t i, int64_t size) const {
  if (i >= 0 && i < size) return i;
  if (fill_ == ShiftFill::kZero) return -1;
  return i < 0 ? -i : 2 * (size - 1) - i;  // shift < size keeps this inside
}

void Augment::forward(const Tensor& x, Tensor& y, Mode mode) {
  y.reshape(x.shape());
  if (mode == Mode::kEval) {
    std::copy_n(x.data(), x.numel(), y.data());
    draws_.clear();
    return;
  }
  assert(context_ != nullptr && static_cast<int64_t>(context_->rows.size()) == x.rows());
  const int64_t plane = height_ * width_;
  draws_.resize(static_cast<size_t>(x.rows()));
  y.zero();
  for (int64_t i = 0; i < x.rows(); ++i) {
    const Draw d = draws_[i] = draw(context_->rows[i]);
    for (int64_t c = 0; c < channels_; ++c) {
      const float* in = x.data() + (i * channels_ + c) * plane;
      float* out = y.data() + (i * channels_ + c) * plane;
      // out(h, w) = in(h + dy, w' + dx) with w' = w or width - 1 - w (flip); outside, zero or reflected.
      for (int64_t h = 0; h < height_; ++h) {
        const int64_t sh = source(h + d.dy, height_);
        if (sh < 0) continue;
        for (int64_t w = 0; w < width_; ++w) {
          const int64_t sw = source((d.flip ? width_ - 1 - w : w) + d.dx, width_);
          if (sw >= 0 && !d.cut(h, w, cutout_)) out[h * width_ + w] = in[sh * width_ + sw];
        }
      }
    }
  }
}

void Augment::backward(const Tensor& x, const Tensor&, const Tensor& dy, Tensor* dx) {
  if (dx == nullptr) return;
  dx->reshape(x.shape());
  if (draws_.empty()) {
    std::copy_n(dy.data(), dy.numel(), dx->data());
    return;
  }
  dx->zero();
  const int64_t plane = height_ * width_;
  for (int64_t i = 0; i < x.rows(); ++i) {
    const Draw d = draws_[i];
    for (int64_t c = 0; c < channels_; ++c) {
      const float* g = dy.data() + (i * channels_ + c) * plane;
      float* out = dx->data() + (i * channels_ + c) * plane;
      for (int64_t h = 0; h < height_; ++h) {
        const int64_t sh = source(h + d.dy, height_);
        if (sh < 0) continue;
        for (int64_t w = 0; w < width_; ++w) {
          const int64_t sw = source((d.flip ? width_ - 1 - w : w) + d.dx, width_);
          if (sw >= 0 && !d.cut(h, w, cutout_)) out[sh * width_ + sw] += g[h * width_ + w];
        }
      }
    }
  }
}

std::string Augment::describe() const {
  return "shift=" + std::to_string(shift_) +
         (flip_ == FlipMode::kAlternate ? " flip=alternate"
          : flip_ == FlipMode::kRandom  ? " flip"
                                        : "") +
         (cutout_ > 0 ? " cutout=" + std::to_string(cutout_) : "") +
         (fill_ == ShiftFill::kReflect ? " fill=reflect" : "");
}

}  // namespace shardnet

SHARDNET_REGISTER_LAYERS(augment) {
  using namespace shardnet;
  registry.add(
      LayerType{"augment",
                "training-time augmentation of (C, H, W) images (identity in evaluation)",
                {int_option("shift", 0, 0, kNoLimit, "random translation of up to this many pixels"),
                 choice_option("fill", {"zero", "reflect"}, "zero",
                               "what a shift brings in at the border: zeros, or the image mirrored there"),
                 choice_option("flip", {"0", "1", "alternate"}, "0",
                               "mirror left-right at random, or each sample's draw inverted every other epoch"),
                 int_option("cutout", 0, 0, kNoLimit, "zero a random square of this size")},
                [](const std::string& name, const LayerOptions& o) {
                  const std::string& flip = o.choice("flip");
                  const FlipMode mode = flip == "1"           ? FlipMode::kRandom
                                        : flip == "alternate" ? FlipMode::kAlternate
                                                              : FlipMode::kNone;
                  const ShiftFill fill = o.choice("fill") == "reflect" ? ShiftFill::kReflect : ShiftFill::kZero;
                  return std::make_unique<Augment>(name, o.integer("shift"), mode, o.integer("cutout"), fill);
                },
                {},
                ExampleInput{{2, 5, 5}, {{"shift", "1"}, {"flip", "1"}}}});
}
