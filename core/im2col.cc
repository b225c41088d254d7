#include "core/im2col.h"

#include <algorithm>

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
}  // namespace

void im2col(const ConvGeometry& g, const float* image, float* col, int64_t col_ld) {
  const int64_t oh_n = g.out_h(), ow_n = g.out_w();
  for (int64_t c = 0; c < g.channels; ++c) {
    const float* plane = image + c * g.height * g.width;
    for (int64_t ki = 0; ki < g.kernel_h; ++ki) {
      for (int64_t kj = 0; kj < g.kernel_w; ++kj) {
        float* row = col + ((c * g.kernel_h + ki) * g.kernel_w + kj) * col_ld;
        int64_t lo, hi;
        valid_range(ow_n, g.stride_w, g.pad_w, kj, g.width, lo, hi);
        for (int64_t oh = 0; oh < oh_n; ++oh) {
          float* out = row + oh * ow_n;
          const int64_t ih = oh * g.stride_h - g.pad_h + ki;
          if (ih < 0 || ih >= g.height) {
            std::fill_n(out, ow_n, 0.0f);
            continue;
          }
          const float* in = plane + ih * g.width;
          const int64_t shift = kj - g.pad_w;  // input column = ow * stride + shift
          std::fill(out, out + lo, 0.0f);
          if (g.stride_w == 1) {
            std::copy(in + lo + shift, in + hi + shift, out + lo);
          } else {
            for (int64_t ow = lo; ow < hi; ++ow) out[ow] = in[ow * g.stride_w + shift];
          }
          std::fill(out + hi, out + ow_n, 0.0f);
        }
      }
    }
  }
}

void col2im(const ConvGeometry& g, const float* col, int64_t col_ld, float* image) {
  const int64_t oh_n = g.out_h(), ow_n = g.out_w();
  for (int64_t c = 0; c < g.channels; ++c) {
    float* plane = image + c * g.height * g.width;
    for (int64_t ki = 0; ki < g.kernel_h; ++ki) {
      for (int64_t kj = 0; kj < g.kernel_w; ++kj) {
        const float* row = col + ((c * g.kernel_h + ki) * g.kernel_w + kj) * col_ld;
        int64_t lo, hi;
        valid_range(ow_n, g.stride_w, g.pad_w, kj, g.width, lo, hi);
        for (int64_t oh = 0; oh < oh_n; ++oh) {
          const int64_t ih = oh * g.stride_h - g.pad_h + ki;
          if (ih < 0 || ih >= g.height) continue;
          const float* in = row + oh * ow_n;
          float* out = plane + ih * g.width;
          const int64_t shift = kj - g.pad_w;
          for (int64_t ow = lo; ow < hi; ++ow) out[ow * g.stride_w + shift] += in[ow];
        }
      }
    }
  }
}

}  // namespace shardnet
