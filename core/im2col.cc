#include "core/im2col.h"

#include <algorithm>

#include "core/kernel_stats.h"
#include "core/parallel.h"

namespace shardnet {
namespace {
// Range of output columns ow whose input column ow*stride - pad + k lies inside [0, width).
void valid_range(int64_t out, int64_t stride, int64_t pad, int64_t k, int64_t size, int64_t& lo,
                 int64_t& hi) {
  // ow*stride >= pad - k  and  ow*stride < size + pad - k
  const int64_t a = pad - k;
  lo = a <= 0 ? 0 : (a + stride - 1) / stride;
  const int64_t b = size + pad - k;  // exclusive bound on ow*stride
  hi = b <= 0 ? 0 : std::min(out, (b + stride - 1) / stride);
  lo = std::min(lo, hi);
}

// One row (channel c, kernel offset ki, kj) of one image's columns: out_h*out_w values at `out`.
void fill_row(const ConvGeometry& g, const float* plane, int64_t ki, int64_t kj, float* out) {
  const int64_t oh_n = g.out_h(), ow_n = g.out_w();
  int64_t lo, hi;
  valid_range(ow_n, g.stride_w, g.pad_w, kj, g.width, lo, hi);
  const int64_t shift = kj - g.pad_w;  // input column = ow * stride + shift
  for (int64_t oh = 0; oh < oh_n; ++oh, out += ow_n) {
    const int64_t ih = oh * g.stride_h - g.pad_h + ki;
    if (ih < 0 || ih >= g.height) {
      std::fill_n(out, ow_n, 0.0f);
      continue;
    }
    const float* in = plane + ih * g.width;
    std::fill(out, out + lo, 0.0f);
    if (g.stride_w == 1) {
      std::copy(in + lo + shift, in + hi + shift, out + lo);
    } else {
      for (int64_t ow = lo; ow < hi; ++ow) out[ow] = in[ow * g.stride_w + shift];
    }
    std::fill(out + hi, out + ow_n, 0.0f);
  }
}

// The adjoint of fill_row: adds the row's values back into `plane`.
void add_row(const ConvGeometry& g, const float* in, int64_t ki, int64_t kj, float* plane) {
  const int64_t oh_n = g.out_h(), ow_n = g.out_w();
  int64_t lo, hi;
  valid_range(ow_n, g.stride_w, g.pad_w, kj, g.width, lo, hi);
  const int64_t shift = kj - g.pad_w;
  for (int64_t oh = 0; oh < oh_n; ++oh, in += ow_n) {
    const int64_t ih = oh * g.stride_h - g.pad_h + ki;
    if (ih < 0 || ih >= g.height) continue;
    float* out = plane + ih * g.width;
    for (int64_t ow = lo; ow < hi; ++ow) out[ow * g.stride_w + shift] += in[ow];
  }
}

// Rows are written (and read) one after another, all images of a row together, so the column
// matrix streams through memory once; work is split over the compute threads by row (by channel
// for col2im, whose rows of one channel add into the same plane).
void im2col_rows(const ConvGeometry& g, const float* images, int64_t count, float* col, int64_t col_ld) {
  const int64_t k = g.kernel_h * g.kernel_w, image_size = g.channels * g.height * g.width;
  const int64_t pixels = g.col_cols(), plane_size = g.height * g.width;
  parallel_for(g.col_rows(), 4, [&](int64_t first, int64_t last) {
    for (int64_t r = first; r < last; ++r) {
      const int64_t c = r / k, ki = r % k / g.kernel_w, kj = r % g.kernel_w;
      for (int64_t i = 0; i < count; ++i)
        fill_row(g, images + i * image_size + c * plane_size, ki, kj, col + r * col_ld + i * pixels);
    }
  });
}

void col2im_rows(const ConvGeometry& g, const float* col, int64_t col_ld, int64_t count, float* images) {
  const int64_t k = g.kernel_h * g.kernel_w, image_size = g.channels * g.height * g.width;
  const int64_t pixels = g.col_cols(), plane_size = g.height * g.width;
  parallel_for(g.channels, 1, [&](int64_t first, int64_t last) {
    for (int64_t c = first; c < last; ++c) {
      for (int64_t r = c * k; r < (c + 1) * k; ++r) {
        const int64_t ki = r % k / g.kernel_w, kj = r % g.kernel_w;
        for (int64_t i = 0; i < count; ++i)
          add_row(g, col + r * col_ld + i * pixels, ki, kj, images + i * image_size + c * plane_size);
      }
    }
  });
}
}  // namespace

void im2col_batch(const ConvGeometry& g, const float* images, int64_t count, float* col) {
  KernelTimer timer(&KernelStats::im2col_seconds);
  im2col_rows(g, images, count, col, count * g.col_cols());
}

void col2im_batch(const ConvGeometry& g, const float* col, int64_t count, float* images) {
  KernelTimer timer(&KernelStats::im2col_seconds);
  col2im_rows(g, col, count * g.col_cols(), count, images);
}

void im2col(const ConvGeometry& g, const float* image, float* col, int64_t col_ld) {
  KernelTimer timer(&KernelStats::im2col_seconds);
  im2col_rows(g, image, 1, col, col_ld);
}

void col2im(const ConvGeometry& g, const float* col, int64_t col_ld, float* image) {
  KernelTimer timer(&KernelStats::im2col_seconds);
  col2im_rows(g, col, col_ld, 1, image);
}

}  // namespace shardnet
