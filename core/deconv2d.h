#pragma once
// Transposed 2-D convolution (PyTorch's ConvTranspose2d, Caffe's Deconvolution): the adjoint of
// `conv`, so its forward is conv's input gradient and its backward is conv's forward. Per image:
// columns = W^T x (a GEMM), then col2im scatters them into the enlarged output. Output size
// (H - 1) stride - 2 pad + size + output_pad. Weight (channels, filters, size, size) as in PyTorch,
// bias (filters).
#include <vector>

#include "core/im2col.h"
#include "core/init.h"
#include "core/layer.h"

namespace shardnet {

struct Deconv2DConfig {
  int64_t filters = 0;
  int64_t size = 2;
  int64_t stride = 1;
  int64_t pad = 0;
  int64_t output_pad = 0;  // extra rows and columns at the bottom and right; below stride
  bool bias = true;
  InitSpec init;
};

class Deconv2D : public Layer {
 public:
  // dW is summed over this many fixed groups of images (on the compute threads), then added in order.
  static constexpr int64_t kWeightGradGroups = 8;

  Deconv2D(std::string name, const Deconv2DConfig& config);
  std::string type() const override { return "deconv"; }
  Shape setup(const Shape& input) override;
  void initialize(uint64_t seed) override;
  void forward(const Tensor& x, Tensor& y, Mode mode) override;
  void backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx) override;
  std::vector<Param*> params() override;
  std::string describe() const override;

  Param& weight() { return weight_; }
  const Deconv2DConfig& config() const { return config_; }
  Param& bias() { return bias_; }

 private:
  // The work of backward on n images (the batch, or one grain of it); writes their parameter gradients.
  void backward_images(const float* x, const float* dy, int64_t n, float* dx);
  Tensor& columns(int chunk);  // one column buffer per compute thread

  Deconv2DConfig config_;
  int64_t in_channels_ = 0, in_h_ = 0, in_w_ = 0;
  // The convolution this layer is the adjoint of: from the output (filters, out_h, out_w) back to
  // the input's (in_h, in_w) pixels; its col_rows() = filters * size^2, col_cols() = in_h * in_w.
  ConvGeometry adjoint_;
  Param weight_, bias_;
  std::vector<Tensor> columns_;
  std::vector<Tensor> group_grads_;  // dW of groups 1.. (group 0 sums into weight_.grad)
};

}  // namespace shardnet
