#pragma once
// Batch normalisation (Ioffe & Szegedy 2015) per feature of a flat input or per channel of a
// (C, H, W) map: batch statistics in training, running averages in evaluation, learnable scale
// (gamma) and shift (beta). With `sync`, the statistics are summed over all ranks (SyncBatchNorm),
// so a multi-rank run normalises exactly as one process with the whole batch; without it each rank
// uses its own slice (less communication, not equivalent).
#include "core/activation.h"
#include "core/layer.h"

namespace shardnet {

struct BatchNormConfig {
  float momentum = 0.1f;  // running = (1 - momentum) running + momentum batch (PyTorch's convention)
  float epsilon = 1e-5f;
  bool sync = true;
};

class BatchNorm : public Layer {
 public:
  BatchNorm(std::string name, const BatchNormConfig& config);
  std::string type() const override { return "batchnorm"; }
  Shape setup(const Shape& input) override;
  void forward(const Tensor& x, Tensor& y, Mode mode) override;
  void backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx) override;
  std::vector<Param*> params() override { return {&gamma_, &beta_}; }
  std::vector<Buffer*> buffers() override { return {&running_mean_, &running_var_}; }
  std::string describe() const override;

  Param& gamma() { return gamma_; }
  float epsilon() const { return config_.epsilon; }
  Param& beta() { return beta_; }

  // Applies `activation` (null: none) to each row of the output as it is written, so that the
  // normalised tensor is never stored: forward's y is then activation(batchnorm(x)), and backward's
  // y and dy are that layer's output and gradient. Backward recomputes the normalised rows from x.
  // The Net fuses a batchnorm with the activation after it this way; the bits are the same.
  void set_fused_activation(const Activation* activation) { activation_ = activation; }
  // Rows (one channel of one sample) of fewer values cost more per row with a fused activation
  // than the pass over memory it saves (a flat input has rows of one value).
  bool fusion_pays() const { return spatial_ >= kMinFusedRow; }
  static constexpr int64_t kMinFusedRow = 16;

 private:
  // Calls fn(image, channel, offset) for every (channels, spatial) row of a batch of n, image
  // after image, the channels split over the compute threads: each thread reads its part of one
  // image after another, contiguous (a channel at a time over all images jumped a whole image per
  // row, and the prefetcher could not follow).
  template <class Fn>
  void for_each_row(int64_t n, Fn&& fn) const;
  // Adds, per channel c, the sum of a and the sum of a * b over the batch to sums_[c] and
  // sums_[channels + c]; row_a(c, offset) and row_b(c, offset) give a and b of the (channels,
  // spatial) row at that offset.
  template <class RowA, class RowB>
  void add_channel_sums(RowA row_a, RowB row_b, int64_t n);
  // Exact mode: the same two sums with each image's sum (in double, in a fixed order) as one term
  // of an exact sum (core/exact_sum.h), into exact_ (2 channels + 1 terms); per_image_ keeps the
  // images' sums.
  template <class RowA, class RowB>
  void exact_channel_sums(RowA row_a, RowB row_b, int64_t n);
  // One row of the output before the fused activation, from the last forward's statistics (or the
  // running ones after an evaluation forward).
  void normalize_row(const float* in, float* out, int64_t channel) const;
  // dL/d(normalised row) at `offset`: dy itself, or through the fused activation from the
  // activation's output y and gradient dy, into a buffer of the calling thread.
  const float* row_gradient(const Tensor& x, const Tensor& y, const Tensor& dy, int64_t channel, int64_t offset) const;
  // exact_ summed over ranks (when synchronised) into sums_.
  void reduce_exact();
  float normalized(float x, int64_t channel) const;  // x-hat with the last training forward's statistics
  // Sums `values` over ranks when synchronised and a collective is bound.
  void reduce(std::vector<double>& values) const;

  BatchNormConfig config_;
  int64_t channels_ = 0, spatial_ = 1;  // features per sample = channels_ * spatial_
  Param gamma_, beta_;
  Buffer running_mean_, running_var_;
  std::vector<float> mean_, inv_std_;           // per channel, of the last training-mode forward
  std::vector<float> eval_scale_, eval_shift_;  // per channel, of the last evaluation forward
  bool last_forward_eval_ = false;              // backward then differentiates the fixed affine map
  const Activation* activation_ = nullptr;
  void eval_backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx);
  std::vector<double> sums_;
  std::vector<double> per_image_;  // exact mode: (n, 2 channels) sums of each image
  ExactSum exact_;
  double count_ = 0.0;  // samples x spatial positions in the (global) batch
};

}  // namespace shardnet
