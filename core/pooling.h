#pragma once
// Max and average pooling over (channels, height, width) maps. Output size rounds down, as in
// PyTorch. Max pooling keeps the argmax of each window for backward; average pooling divides by
// the full window area, padding included (PyTorch's count_include_pad default).
#include <algorithm>
#include <vector>

#include "core/layer.h"

namespace shardnet {

struct PoolConfig {
  int64_t size = 2;
  int64_t stride = 0;  // 0: same as size
  int64_t pad = 0;
};

class Pool2D : public Layer {
 public:
  Pool2D(std::string name, const PoolConfig& config);
  Shape setup(const Shape& input) override;
  std::string describe() const override;
  int64_t size() const { return size_; }
  int64_t stride() const { return stride_; }
  int64_t pad() const { return pad_; }

 protected:
  // Calls fn(output index, h0, h1, w0, w1) for each window of one plane, clipped to the input:
  // rows [h0, h1) and columns [w0, w1).
  template <typename Fn>
  void for_each_window(Fn&& fn) const {
    for (int64_t oh = 0; oh < out_h_; ++oh) {
      const int64_t h0 = std::max<int64_t>(oh * stride_ - pad_, 0);
      const int64_t h1 = std::min(oh * stride_ - pad_ + size_, in_h_);
      for (int64_t ow = 0; ow < out_w_; ++ow) {
        const int64_t w0 = std::max<int64_t>(ow * stride_ - pad_, 0);
        const int64_t w1 = std::min(ow * stride_ - pad_ + size_, in_w_);
        fn(oh * out_w_ + ow, h0, h1, w0, w1);
      }
    }
  }

  int64_t channels_ = 0, in_h_ = 0, in_w_ = 0, out_h_ = 0, out_w_ = 0;
  int64_t size_, stride_, pad_;
};

class MaxPool : public Pool2D {
 public:
  using Pool2D::Pool2D;
  std::string type() const override { return "maxpool"; }
  void forward(const Tensor& x, Tensor& y, Mode mode) override;
  void backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx) override;
  // Per output element of the last forward, the index of its maximum within its input plane.
  const std::vector<int32_t>& argmax() const { return argmax_; }
  Shape input_shape() const { return {channels_, in_h_, in_w_}; }
  Shape output_shape() const { return {channels_, out_h_, out_w_}; }

 private:
  // 2x2 windows with stride 2 and no padding (the common case), unrolled: 2.7x faster than the
  // generic window loop on the MNIST CNN's first pool.
  bool tiled_2x2() const { return size_ == 2 && stride_ == 2 && pad_ == 0; }
  void forward_plane_2x2(const float* in, float* out, int32_t* arg) const;

  std::vector<int32_t> argmax_;  // index within the input plane, per output element
};

class AvgPool : public Pool2D {
 public:
  using Pool2D::Pool2D;
  std::string type() const override { return "avgpool"; }
  void forward(const Tensor& x, Tensor& y, Mode mode) override;
  void backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx) override;
};

// Max unpooling (PyTorch's MaxUnpool2d, the decoder half of SegNet): each value goes back to the
// position its named earlier maxpool took the maximum from in the same forward pass; every other
// position is zero. Where overlapping windows chose the same position their values add up (the
// adjoint of the pool's gather; PyTorch keeps one of them). Input: the pool's output shape, output:
// its input shape.
class MaxUnpool : public Layer {
 public:
  MaxUnpool(std::string name, std::string pool);
  std::string type() const override { return "maxunpool"; }
  void connect(std::span<Layer* const> earlier) override;
  Shape setup(const Shape& input) override;
  void forward(const Tensor& x, Tensor& y, Mode mode) override;
  void backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx) override;
  std::string describe() const override { return "pool=" + pool_name_; }
  const std::string& pool() const { return pool_name_; }  // the [maxpool] whose argmax positions it uses

 private:
  std::string pool_name_;
  const MaxPool* pool_ = nullptr;
  int64_t planes_ = 0, in_plane_ = 0, out_plane_ = 0;  // per sample; in = the pool's output
};

}  // namespace shardnet
