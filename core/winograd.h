#pragma once
// Winograd F(2x2, 3x3) for 3x3 convolutions with stride 1 and padding 1 (Lavin & Gray, "Fast
// Algorithms for Convolutional Neural Networks", 2016). Each 2x2 output tile costs 16 multiplies
// per (filter, channel) pair instead of 36: the images' 4x4 input tiles and the filters are taken
// to a 16-point transform domain, where the channel sums are 16 independent GEMMs
//   M[xi] (filters x tiles) = U[xi] (filters x channels) * V[xi] (channels x tiles),
// and each M tile is taken back to a 2x2 output tile. The input gradient of such a convolution is
// the same operation on dy with the filters rotated by 180 degrees and their two channel axes
// swapped (winograd_filter_transform's `for_input_gradient`); its weight gradient is the transposed
// algorithm (winograd_gradient_transform).
#include <cstdint>

namespace shardnet {

constexpr int kWinogradPoints = 16;  // 4x4 transform domain

// The transform-domain operands are 16 matrices, (rows, ld) each, point p's starting at
// p * winograd_point_stride(rows, ld): a little more than rows * ld, because that is often a
// multiple of 4 KiB, and the transforms, which read or write all 16 points of a tile together,
// would then have their 16 streams compete for the same cache sets (at 256 channels of 16x16
// images, 3x slower). 32 elements more: two cache lines of float32, one of bfloat16.
inline int64_t winograd_point_stride(int64_t rows, int64_t ld) { return rows * ld + 32; }
// The elements such an operand spans.
inline int64_t winograd_operand_size(int64_t rows, int64_t ld) {
  return kWinogradPoints * winograd_point_stride(rows, ld);
}

// Output tiles of one (height x width) plane: ceil(h/2) x ceil(w/2).
inline int64_t winograd_tiles(int64_t height, int64_t width) { return ((height + 1) / 2) * ((width + 1) / 2); }

// w (filters, channels, 3, 3) -> u (16, filters, channels); with for_input_gradient,
// u (16, channels, filters) of the rotated filters. All (16, rows, ld) operands here are laid out
// as winograd_point_stride says. The uint16_t overload writes bfloat16 (to_bf16 of the float32 result).
void winograd_filter_transform(const float* w, int64_t filters, int64_t channels, bool for_input_gradient, float* u);
void winograd_filter_transform(const float* w, int64_t filters, int64_t channels, bool for_input_gradient, uint16_t* u);

// `count` images (channels, h, w) -> v (16, channels, ld): image i's tiles are columns
// [i * tiles, (i + 1) * tiles) of each row, zero where a tile reaches past the image. The uint16_t
// overloads write bfloat16 (core/half_float.h's to_bf16 of the float32 result, bit for bit).
void winograd_input_transform(const float* images, int64_t count, int64_t channels, int64_t h, int64_t w, float* v,
                              int64_t ld);
void winograd_input_transform(const float* images, int64_t count, int64_t channels, int64_t h, int64_t w, uint16_t* v,
                              int64_t ld);

// m (16, filters, ld) -> out (count, filters, h, w): each tile's 2x2 outputs, clipped to the plane,
// plus bias[filter] (none when null).
void winograd_output_transform(const float* m, int64_t count, int64_t filters, int64_t h, int64_t w, int64_t ld,
                               const float* bias, float* out);

// The weight gradient by the transposed algorithm: dW = G^T [sum over tiles (A dY A^T) . (B^T X B)] G,
// with the forward's matrices, dY a 2x2 tile of dy and X the 4x4 input tile (the input transform).
// dy `count` images (filters, h, w) -> (16, filters, ld), image i's tiles at columns i * tiles...
void winograd_gradient_transform(const float* dy, int64_t count, int64_t filters, int64_t h, int64_t w, float* out,
                                 int64_t ld);
void winograd_gradient_transform(const float* dy, int64_t count, int64_t filters, int64_t h, int64_t w, uint16_t* out,
                                 int64_t ld);
// m (16, filters, channels) -> dw (filters, channels, 3, 3) = G^T m G.
void winograd_weight_gradient_output(const float* m, int64_t filters, int64_t channels, float* dw);

}  // namespace shardnet
