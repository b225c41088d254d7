#pragma once
// im2col / col2im for 2-D convolution (Caffe's layout): the column matrix has one row per
// (channel, kernel row, kernel column) and one column per output pixel. Several images share one
// column matrix side by side, so a whole mini-batch becomes a single GEMM; `col_ld` is its row stride.
#include <cstdint>

namespace shardnet {

struct ConvGeometry {
  int64_t channels = 0, height = 0, width = 0;
  int64_t kernel_h = 1, kernel_w = 1;
  int64_t stride_h = 1, stride_w = 1;
  int64_t pad_h = 0, pad_w = 0;

  int64_t out_h() const { return (height + 2 * pad_h - kernel_h) / stride_h + 1; }
  int64_t out_w() const { return (width + 2 * pad_w - kernel_w) / stride_w + 1; }
  int64_t col_rows() const { return channels * kernel_h * kernel_w; }
  int64_t col_cols() const { return out_h() * out_w(); }
};

// Columns of `count` consecutive images (each C*H*W floats) side by side: image i's pixels are
// columns [i*P, (i+1)*P) of a (C*kh*kw) x (count*P) matrix, P = out_h*out_w. Runs on the compute threads.
void im2col_batch(const ConvGeometry& g, const float* images, int64_t count, float* col);
// The same columns in bfloat16 (bf16 mode): the rounding done as they are written.
void im2col_batch(const ConvGeometry& g, const float* images, int64_t count, uint16_t* col);
// Adds such columns back into the `count` images; the caller zeroes them first.
void col2im_batch(const ConvGeometry& g, const float* col, int64_t count, float* images);

// Writes the out_h*out_w columns of one image (C, H, W) at `col`.
void im2col(const ConvGeometry& g, const float* image, float* col, int64_t col_ld);
// Adds the columns of one image back into `image` (C, H, W); the caller zeroes it first.
void col2im(const ConvGeometry& g, const float* col, int64_t col_ld, float* image);

}  // namespace shardnet
