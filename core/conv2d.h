#pragma once
// 2-D convolution (cross-correlation, as in Caffe and PyTorch) by im2col + GEMM. The column matrix
// covers a block of images at once (the whole batch when it fits `kColumnBudgetBytes`), so each
// block is one large GEMM. Weight (filters, channels, kernel_h, kernel_w), bias (filters).
#include "core/im2col.h"
#include "core/init.h"
#include "core/layer.h"

namespace shardnet {

struct Conv2DConfig {
  int64_t filters = 0;
  int64_t kernel_h = 3, kernel_w = 3;
  int64_t stride_h = 1, stride_w = 1;
  int64_t pad_h = 0, pad_w = 0;
  bool bias = true;
  InitSpec init;
  // Identity on the first min(filters, channels) filters after the random init (torch.nn.init.dirac_
  // on part of the weight): a block starts near a residual connection without one.
  bool dirac = false;
  // Whitening filters computed from the training data before training (core/whitening.h); the
  // trainer calls initialize_whitening() when the conv sees the data itself.
  bool whiten = false;
};

class Conv2D : public Layer {
 public:
  static constexpr int64_t kColumnBudgetBytes = 8 << 20;  // measured: blocks that stay in cache beat one huge matrix
  // Whitening's eps relative to the mean patch variance (airbench's 5e-4 on unit-variance data).
  static constexpr double kWhiteningEps = 5e-4;

  Conv2D(std::string name, const Conv2DConfig& config);
  std::string type() const override { return "conv"; }
  Shape setup(const Shape& input) override;
  void initialize(uint64_t seed) override;
  void forward(const Tensor& x, Tensor& y, Mode mode) override;
  void backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx) override;
  std::vector<Param*> params() override;
  std::string describe() const override;

  Param& weight() { return weight_; }
  Param& bias() { return bias_; }

 private:
  void set_identity_filters();
 public:
  // Sets the weights and biases to whitening filters of the patches of `images` (N, C, H, W), the
  // input this layer sees. Needs bias = 1 and an even number of filters, at most 2 C k k.
  void initialize_whitening(const Tensor& images);
  bool whitens() const { return config_.whiten; }

 private:
  int64_t images_per_block(int64_t batch) const;
  void fill_columns(const Tensor& x, int64_t first, int64_t count);

  Conv2DConfig config_;
  ConvGeometry geom_;
  Param weight_, bias_;
  Tensor columns_;      // (col_rows, block * out_pixels)
  Tensor out_columns_;  // (filters, block * out_pixels): GEMM output / gathered dy
  int64_t columns_first_ = -1, columns_count_ = 0;  // which images `columns_` holds
  const float* columns_source_ = nullptr;
};

}  // namespace shardnet
