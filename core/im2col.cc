#include "core/im2col.h"

#include <algorithm>
#include <cstdint>
#include <vector>

#include "core/float_blocks.h"
#include "core/half_float.h"
#include "core/kernel_stats.h"
#include "core/parallel.h"

namespace shardnet {
namespace {

// Rows of columns are short (14 floats in the MNIST CNN), and a loop of unknown length over them
// spends more on its bookkeeping than on the copy. Copied in whole blocks of a fixed size instead
// (one vector move each), a block may run up to kCopyBlock - 1 elements past the row: into the next
// row of the same output, which is written right after, and past the end of a padded input row,
// which has slack for it.
constexpr int64_t kCopyBlock = float_blocks::kSize;

template <typename T>
inline void copy_blocks(const T* in, T* out, int64_t n) {
  for (int64_t j = 0; j < n; j += kCopyBlock) std::copy_n(in + j, kCopyBlock, out + j);
}

// One image (C, H, W) copied into a zero border of the padding, so that every row of its columns
// is a plain strided read with no bounds checks (the rows are short: 14 floats in the MNIST CNN,
// where the per-segment bookkeeping of the bounded copy cost more than the copy). In bf16 mode the
// copy is rounded here, once per input element, not once per column element (25 of them for a 5x5
// kernel). Kept per thread.
template <typename T>
const T* padded_image(const ConvGeometry& g, const float* image) {
  thread_local std::vector<T> padded;
  const int64_t ph = g.height + 2 * g.pad_h, pw = g.width + 2 * g.pad_w;
  // kCopyBlock more at the end: copy_blocks reads up to that far past a row.
  padded.assign(static_cast<size_t>(g.channels * ph * pw + kCopyBlock), T{0});
  for (int64_t c = 0; c < g.channels; ++c) {
    for (int64_t h = 0; h < g.height; ++h) {
      const float* in = image + (c * g.height + h) * g.width;
      T* out = padded.data() + (c * ph + h + g.pad_h) * pw + g.pad_w;
      for (int64_t w = 0; w < g.width; ++w) store_float_or_bf16(in[w], out[w]);
    }
  }
  return padded.data();
}

// Row r = (c, ki, kj) of one image's columns from its padded copy.
template <typename T>
void fill_padded_row(const ConvGeometry& g, const T* padded, int64_t r, T* out) {
  const int64_t k = g.kernel_h * g.kernel_w, c = r / k, ki = r % k / g.kernel_w, kj = r % g.kernel_w;
  const int64_t ph = g.height + 2 * g.pad_h, pw = g.width + 2 * g.pad_w, oh_n = g.out_h(), ow_n = g.out_w();
  const T* src = padded + (c * ph + ki) * pw + kj;
  int64_t oh = 0;
  if (g.stride_w == 1) {
    // Whole blocks while their overrun stays within this image's part of row r (the output rows
    // after it, written next); the last few output rows exactly.
    const int64_t span = (ow_n + kCopyBlock - 1) / kCopyBlock * kCopyBlock;
    for (; oh * ow_n + span <= oh_n * ow_n; ++oh, out += ow_n) copy_blocks(src + oh * g.stride_h * pw, out, ow_n);
    for (; oh < oh_n; ++oh, out += ow_n) std::copy_n(src + oh * g.stride_h * pw, ow_n, out);
    return;
  }
  for (; oh < oh_n; ++oh, out += ow_n) {
    const T* in = src + oh * g.stride_h * pw;
    for (int64_t ow = 0; ow < ow_n; ++ow) out[ow] = in[ow * g.stride_w];
  }
}

// Image by image; within an image the rows are split over the compute threads (by channel for
// col2im, whose rows of one channel add into the same plane).
template <typename T>
void im2col_rows(const ConvGeometry& g, const float* images, int64_t count, T* col, int64_t col_ld) {
  const int64_t image_size = g.channels * g.height * g.width, pixels = g.col_cols();
  for (int64_t i = 0; i < count; ++i) {
    const T* padded = padded_image<T>(g, images + i * image_size);
    parallel_for(g.col_rows(), 4, [&](int64_t first, int64_t last) {
      for (int64_t r = first; r < last; ++r) fill_padded_row(g, padded, r, col + r * col_ld + i * pixels);
    });
  }
}

// out[q] += in[q] for q < n, in whole blocks: the lanes past n add +0, so that the elements they
// cover (the padded copy's next columns) keep their values.
inline void add_blocks(const float* in, float* out, int64_t n) {
  for (int64_t j = 0; j < n; j += kCopyBlock) {
    float_blocks::Floats addend, sum;
    float_blocks::load(addend, in + j);
    float_blocks::load(sum, out + j);
    float_blocks::keep_first(addend, n - j);
    sum += addend;
    float_blocks::store(out + j, sum);
  }
}

// The adjoint, image by image: rows add into a padded copy (again no bounds checks), whose interior
// is then added to the image; a stride-1 row adds in whole blocks like im2col's copies, into
// kCopyBlock elements of slack at the copy's end. Channels are split over the compute threads;
// each has one writer.
void col2im_rows(const ConvGeometry& g, const float* col, int64_t col_ld, int64_t count, float* images) {
  const int64_t k = g.kernel_h * g.kernel_w, image_size = g.channels * g.height * g.width, pixels = g.col_cols();
  const int64_t ph = g.height + 2 * g.pad_h, pw = g.width + 2 * g.pad_w, oh_n = g.out_h(), ow_n = g.out_w();
  const int64_t span = (ow_n + kCopyBlock - 1) / kCopyBlock * kCopyBlock;
  parallel_for(g.channels, 1, [&](int64_t first, int64_t last) {
    thread_local std::vector<float> padded;
    padded.resize(static_cast<size_t>(ph * pw + kCopyBlock));
    for (int64_t i = 0; i < count; ++i) {
      for (int64_t c = first; c < last; ++c) {
        std::fill(padded.begin(), padded.end(), 0.0f);
        for (int64_t r = c * k; r < (c + 1) * k; ++r) {
          const int64_t ki = r % k / g.kernel_w, kj = r % g.kernel_w;
          const float* in = col + r * col_ld + i * pixels;
          float* dst = padded.data() + ki * pw + kj;
          int64_t oh = 0;
          if (g.stride_w == 1) {
            // A block reads up to span elements from its output row's start: whole blocks while
            // that stays within this image's part of row r, the last output rows exactly.
            for (; oh * ow_n + span <= oh_n * ow_n; ++oh) add_blocks(in + oh * ow_n, dst + oh * g.stride_h * pw, ow_n);
          }
          for (; oh < oh_n; ++oh) {
            float* out = dst + oh * g.stride_h * pw;
            const float* row = in + oh * ow_n;
            for (int64_t ow = 0; ow < ow_n; ++ow) out[ow * g.stride_w] += row[ow];
          }
        }
        float* plane = images + i * image_size + c * g.height * g.width;
        for (int64_t h = 0; h < g.height; ++h) {
          const float* src = padded.data() + (h + g.pad_h) * pw + g.pad_w;
          for (int64_t w = 0; w < g.width; ++w) plane[h * g.width + w] += src[w];
        }
      }
    }
  });
}
}  // namespace

void im2col_batch(const ConvGeometry& g, const float* images, int64_t count, float* col) {
  KernelTimer timer(&KernelStats::im2col_seconds);
  im2col_rows(g, images, count, col, count * g.col_cols());
}

void im2col_batch(const ConvGeometry& g, const float* images, int64_t count, uint16_t* col) {
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
