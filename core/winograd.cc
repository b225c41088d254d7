#include "core/winograd.h"

#include <algorithm>
#include <cstdint>
#include <vector>

#include "core/float_blocks.h"
#include "core/half_float.h"

// A tile's 16 points are stored through one pointer at run-time strides, too many pairs for the
// compiler to check for overlap at run time, so it would not vectorise the loop over tiles; they
// never overlap (winograd_point_stride), and this tells it so.
#if defined(__clang__)
#define SHARDNET_POINTS_DO_NOT_OVERLAP _Pragma("clang loop vectorize(assume_safety)")
#else
#define SHARDNET_POINTS_DO_NOT_OVERLAP _Pragma("GCC ivdep")
#endif

namespace shardnet {

namespace {

template <typename T>
void filter_transform(const float* w, int64_t filters, int64_t channels, bool for_input_gradient, T* u) {
  const int64_t plane = filters * channels, point_stride = winograd_point_stride(filters, channels);
  // A block of output elements is built point by point in L1 and then written as 16 runs: one pass
  // over u (gathering each point from a whole (plane, 16) array took 16 passes over 16x the weights).
  constexpr int64_t kBlock = 64;
  float built[kWinogradPoints][kBlock];
  for (int64_t first = 0; first < plane; first += kBlock) {
    const int64_t count = std::min(kBlock, plane - first);
    for (int64_t j = 0; j < count; ++j) {
      // Output element k is (f, c), or (c, f) for the input gradient.
      const int64_t k = first + j;
      const int64_t f = for_input_gradient ? k % filters : k / channels;
      const int64_t c = for_input_gradient ? k / filters : k % channels;
      const float* src = w + (f * channels + c) * 9;
      float g[3][3];
      for (int r = 0; r < 3; ++r) {
        for (int q = 0; q < 3; ++q) g[r][q] = for_input_gradient ? src[(2 - r) * 3 + (2 - q)] : src[r * 3 + q];
      }
      // t = G g, G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1]; then t G^T
      float t[4][3];
      for (int q = 0; q < 3; ++q) {
        t[0][q] = g[0][q];
        t[1][q] = 0.5f * (g[0][q] + g[1][q] + g[2][q]);
        t[2][q] = 0.5f * (g[0][q] - g[1][q] + g[2][q]);
        t[3][q] = g[2][q];
      }
      for (int r = 0; r < 4; ++r) {
        built[r * 4 + 0][j] = t[r][0];
        built[r * 4 + 1][j] = 0.5f * (t[r][0] + t[r][1] + t[r][2]);
        built[r * 4 + 2][j] = 0.5f * (t[r][0] - t[r][1] + t[r][2]);
        built[r * 4 + 3][j] = t[r][2];
      }
    }
    for (int p = 0; p < kWinogradPoints; ++p) {
      T* dst = u + p * point_stride + first;
      for (int64_t j = 0; j < count; ++j) store_float_or_bf16(built[p][j], dst[j]);
    }
  }
}

}  // namespace

void winograd_filter_transform(const float* w, int64_t filters, int64_t channels, bool for_input_gradient, float* u) {
  filter_transform(w, filters, channels, for_input_gradient, u);
}

void winograd_filter_transform(const float* w, int64_t filters, int64_t channels, bool for_input_gradient,
                               uint16_t* u) {
  filter_transform(w, filters, channels, for_input_gradient, u);
}

namespace {

// The transforms gather a plane's tiles into a few arrays indexed by tile, t = ty * tiles_w + tx,
// and then run one loop over all of the plane's tiles, which vectorises however narrow the plane is
// (a loop along one row of 4 tiles would not); each point's run of tiles is written once, straight
// into the GEMM operand.

// Where tile t's 4x4 input values come from: the zero-padded plane P (one zero row and column before
// the image, two after, as an odd plane's last tile reaches one past the edge) split by column phase
// s = 0..3 and row parity: phase[s][parity][r * tiles_w + tx] = P[2r + parity][2tx + s], rows
// r = 0..tiles_h, each of the 8 arrays `stride` apart. Tile t's value (k, s) is then
// phase[s][k % 2][t + (k / 2) * tiles_w].
struct TilePhases {
  static constexpr int64_t kBlock = float_blocks::kSize;

  std::vector<float> values;
  int64_t stride = 0;  // (tiles_h + 1) * tiles_w and kBlock of slack

  // Zeroes the arrays for planes of h x w. Every plane of that shape then writes the same
  // elements (fill), so the zeros of the padding stay.
  void prepare(int64_t h, int64_t w) {
    h_ = h, w_ = w, tiles_w_ = (w + 1) / 2, blocks_ = (tiles_w_ + kBlock - 1) / kBlock;
    stride = ((h + 1) / 2 + 1) * tiles_w_ + kBlock;
    values.assign(static_cast<size_t>(8 * stride), 0.0f);
    padded_.assign(static_cast<size_t>(2 * kBlock * blocks_ + 4), 0.0f);
  }

  void fill(const float* plane) {
    for (int64_t y = 1; y <= h_; ++y) {  // padded rows 0 and past h stay zero
      std::copy_n(plane + (y - 1) * w_, w_, padded_.data() + 1);
      float* row = values.data() + (y % 2) * stride + (y / 2) * tiles_w_;
      for (int s = 0; s < 4; ++s) add_phase_row(s, row + 2 * s * stride);
    }
  }

 private:
  // out[tx] = P[y][2tx + s] for tx < tiles_w, in blocks of 16: the even elements of two vectors
  // (the strided loop this replaces ran scalar, half of the transform's time). A block's lanes past
  // tiles_w write zeros into the next row of the phase (written later, or padding that stays zero)
  // or into the array's slack.
  void add_phase_row(int s, float* out) const {
    for (int64_t b = 0; b < blocks_; ++b) {
      float_blocks::Floats even, odd;
      float_blocks::deinterleave(padded_.data() + 2 * kBlock * b + s, even, odd);
      float_blocks::keep_first(even, tiles_w_ - kBlock * b);
      float_blocks::store(out + kBlock * b, even);
    }
  }

  std::vector<float> padded_;  // one padded row, P[y][x] = padded_[x], zero past the image
  int64_t h_ = 0, w_ = 0, tiles_w_ = 0, blocks_ = 0;
};

// B^T d down one column of a tile, B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]: rows 0 and 2 of
// the tile come from even padded rows (tile row r, r + 1), rows 1 and 3 from odd ones.
struct TileColumn {
  float r0, r1, r2, r3;
};
inline TileColumn column_transform(const float* __restrict even_rows, const float* __restrict odd_rows, int64_t t,
                                   int64_t next_row) {
  const float d0 = even_rows[t], d1 = odd_rows[t], d2 = even_rows[t + next_row], d3 = odd_rows[t + next_row];
  return {d0 - d2, d1 + d2, d2 - d1, d1 - d3};
}

// (B^T d) B along one row of the column-transformed tile: its points 4r .. 4r + 3.
template <typename T>
inline void input_row_points(float a0, float a1, float a2, float a3, T* __restrict out, int64_t point_stride) {
  store_float_or_bf16(a0 - a2, out[0]);
  store_float_or_bf16(a1 + a2, out[point_stride]);
  store_float_or_bf16(a2 - a1, out[2 * point_stride]);
  store_float_or_bf16(a1 - a3, out[3 * point_stride]);
}

// B^T d B of `tiles` tiles; point p of tile t goes to out[p * point_stride + t]. Written out without
// arrays or inner loops, so that the loop over tiles vectorises.
template <typename T>
void transform_input_tiles(const TilePhases& in, int64_t tiles, int64_t tiles_w, T* __restrict out,
                           int64_t point_stride) {
  const float* __restrict d = in.values.data();
  const int64_t stride = in.stride;
  SHARDNET_POINTS_DO_NOT_OVERLAP
  for (int64_t t = 0; t < tiles; ++t) {
    const TileColumn c0 = column_transform(d, d + stride, t, tiles_w);  // column phases s = 0..3
    const TileColumn c1 = column_transform(d + 2 * stride, d + 3 * stride, t, tiles_w);
    const TileColumn c2 = column_transform(d + 4 * stride, d + 5 * stride, t, tiles_w);
    const TileColumn c3 = column_transform(d + 6 * stride, d + 7 * stride, t, tiles_w);
    input_row_points(c0.r0, c1.r0, c2.r0, c3.r0, out + t, point_stride);
    input_row_points(c0.r1, c1.r1, c2.r1, c3.r1, out + 4 * point_stride + t, point_stride);
    input_row_points(c0.r2, c1.r2, c2.r2, c3.r2, out + 8 * point_stride + t, point_stride);
    input_row_points(c0.r3, c1.r3, c2.r3, c3.r3, out + 12 * point_stride + t, point_stride);
  }
}

template <typename T>
void input_transform(const float* images, int64_t count, int64_t channels, int64_t h, int64_t w, T* v, int64_t ld) {
  const int64_t tiles_h = (h + 1) / 2, tiles_w = (w + 1) / 2, tiles = tiles_h * tiles_w;
  thread_local TilePhases phases;
  phases.prepare(h, w);
  for (int64_t c = 0; c < channels; ++c) {
    for (int64_t i = 0; i < count; ++i) {
      phases.fill(images + (i * channels + c) * h * w);
      transform_input_tiles(phases, tiles, tiles_w, v + c * ld + i * tiles, winograd_point_stride(channels, ld));
    }
  }
}

// dy's 2x2 tiles by tile: g[k][t] is element (k / 2, k % 2) of tile t, zero past the plane.
void gather_gradient_tiles(const float* plane, int64_t h, int64_t w, int64_t tiles_h, int64_t tiles_w,
                           std::vector<float>& g) {
  const int64_t tiles = tiles_h * tiles_w;
  g.assign(static_cast<size_t>(4 * tiles), 0.0f);
  for (int64_t y = 0; y < h; ++y) {
    const float* row = plane + y * w;
    float* even = g.data() + (2 * (y % 2)) * tiles + (y / 2) * tiles_w;
    float* odd = even + tiles;
    for (int64_t tx = 0; 2 * tx < w; ++tx) even[tx] = row[2 * tx];
    for (int64_t tx = 0; 2 * tx + 1 < w; ++tx) odd[tx] = row[2 * tx + 1];
  }
}

// One row of a A^T, A = [1 0; 1 1; 1 -1; 0 -1]: points 4r .. 4r + 3 from a's row (a0, a1).
template <typename T>
inline void gradient_row_points(float a0, float a1, T* __restrict out, int64_t point_stride) {
  store_float_or_bf16(a0, out[0]);
  store_float_or_bf16(a0 + a1, out[point_stride]);
  store_float_or_bf16(a0 - a1, out[2 * point_stride]);
  store_float_or_bf16(-a1, out[3 * point_stride]);
}

// A g A^T of `tiles` tiles; point p of tile t to out[p * point_stride + t].
template <typename T>
void transform_gradient_tiles(const float* __restrict g, int64_t tiles, T* __restrict out, int64_t point_stride) {
  SHARDNET_POINTS_DO_NOT_OVERLAP
  for (int64_t t = 0; t < tiles; ++t) {
    const float g00 = g[t], g01 = g[tiles + t], g10 = g[2 * tiles + t], g11 = g[3 * tiles + t];
    // a = A g, row by row, then a A^T
    gradient_row_points(g00, g01, out + t, point_stride);
    gradient_row_points(g00 + g10, g01 + g11, out + 4 * point_stride + t, point_stride);
    gradient_row_points(g00 - g10, g01 - g11, out + 8 * point_stride + t, point_stride);
    gradient_row_points(-g10, -g11, out + 12 * point_stride + t, point_stride);
  }
}

template <typename T>
void gradient_transform(const float* dy, int64_t count, int64_t filters, int64_t h, int64_t w, T* out, int64_t ld) {
  const int64_t tiles_h = (h + 1) / 2, tiles_w = (w + 1) / 2, tiles = tiles_h * tiles_w;
  thread_local std::vector<float> g;
  for (int64_t f = 0; f < filters; ++f) {
    for (int64_t i = 0; i < count; ++i) {
      gather_gradient_tiles(dy + (i * filters + f) * h * w, h, w, tiles_h, tiles_w, g);
      transform_gradient_tiles(g.data(), tiles, out + f * ld + i * tiles, winograd_point_stride(filters, ld));
    }
  }
}

// A^T m A of `tiles` tiles plus b, A^T = [1 1 1 0; 0 1 -1 -1]: y[k][t] is output (k / 2, k % 2) of tile t.
void transform_output_tiles(const float* __restrict m, int64_t point_stride, int64_t tiles, float b,
                            float* __restrict y) {
  float* __restrict y00 = y;
  float* __restrict y01 = y + tiles;
  float* __restrict y10 = y + 2 * tiles;
  float* __restrict y11 = y + 3 * tiles;
  for (int64_t t = 0; t < tiles; ++t) {
    float s[2][4];  // A^T m
#pragma GCC unroll 4
    for (int c = 0; c < 4; ++c) {
      const float p0 = m[c * point_stride + t], p1 = m[(4 + c) * point_stride + t];
      const float p2 = m[(8 + c) * point_stride + t], p3 = m[(12 + c) * point_stride + t];
      s[0][c] = p0 + p1 + p2;
      s[1][c] = p1 - p2 - p3;
    }
    // (A^T m) A; the bias is added after, as a separate pass would
    y00[t] = s[0][0] + s[0][1] + s[0][2] + b;
    y01[t] = s[0][1] - s[0][2] - s[0][3] + b;
    y10[t] = s[1][0] + s[1][1] + s[1][2] + b;
    y11[t] = s[1][1] - s[1][2] - s[1][3] + b;
  }
}

// The tiles' outputs into the plane's rows, clipped to it.
void scatter_output_tiles(const float* y, int64_t tiles, int64_t h, int64_t w, int64_t tiles_w, float* plane) {
  for (int64_t row = 0; row < h; ++row) {
    const float* even = y + (2 * (row % 2)) * tiles + (row / 2) * tiles_w;
    const float* odd = even + tiles;
    float* out = plane + row * w;
    for (int64_t tx = 0; tx < w / 2; ++tx) {
      out[2 * tx] = even[tx];
      out[2 * tx + 1] = odd[tx];
    }
    if (w % 2 == 1) out[w - 1] = even[w / 2];
  }
}
}  // namespace

void winograd_input_transform(const float* images, int64_t count, int64_t channels, int64_t h, int64_t w, float* v,
                              int64_t ld) {
  input_transform(images, count, channels, h, w, v, ld);
}

void winograd_input_transform(const float* images, int64_t count, int64_t channels, int64_t h, int64_t w, uint16_t* v,
                              int64_t ld) {
  input_transform(images, count, channels, h, w, v, ld);
}

void winograd_output_transform(const float* m, int64_t count, int64_t filters, int64_t h, int64_t w, int64_t ld,
                               const float* bias, float* out) {
  const int64_t tiles_h = (h + 1) / 2, tiles_w = (w + 1) / 2, tiles = tiles_h * tiles_w;
  const int64_t point_stride = winograd_point_stride(filters, ld);
  thread_local std::vector<float> y;
  y.resize(static_cast<size_t>(4 * tiles));
  for (int64_t f = 0; f < filters; ++f) {
    const float b = bias != nullptr ? bias[f] : 0.0f;
    for (int64_t i = 0; i < count; ++i) {
      transform_output_tiles(m + f * ld + i * tiles, point_stride, tiles, b, y.data());
      scatter_output_tiles(y.data(), tiles, h, w, tiles_w, out + (i * filters + f) * h * w);
    }
  }
}

void winograd_gradient_transform(const float* dy, int64_t count, int64_t filters, int64_t h, int64_t w, float* out,
                                 int64_t ld) {
  gradient_transform(dy, count, filters, h, w, out, ld);
}

void winograd_gradient_transform(const float* dy, int64_t count, int64_t filters, int64_t h, int64_t w, uint16_t* out,
                                 int64_t ld) {
  gradient_transform(dy, count, filters, h, w, out, ld);
}

void winograd_weight_gradient_output(const float* m, int64_t filters, int64_t channels, float* dw) {
  const int64_t plane = filters * channels, point_stride = winograd_point_stride(filters, channels);
  for (int64_t k = 0; k < plane; ++k) {
    float p[4][4];
    for (int q = 0; q < kWinogradPoints; ++q) p[q / 4][q % 4] = m[q * point_stride + k];
    // t = G^T p (3x4), G^T = [1 1/2 1/2 0; 0 1/2 -1/2 0; 0 1/2 1/2 1]; then t G (3x3)
    float t[3][4];
    for (int c = 0; c < 4; ++c) {
      t[0][c] = p[0][c] + 0.5f * (p[1][c] + p[2][c]);
      t[1][c] = 0.5f * (p[1][c] - p[2][c]);
      t[2][c] = 0.5f * (p[1][c] + p[2][c]) + p[3][c];
    }
    float* out = dw + k * 9;
    for (int r = 0; r < 3; ++r) {
      out[r * 3 + 0] = t[r][0] + 0.5f * (t[r][1] + t[r][2]);
      out[r * 3 + 1] = 0.5f * (t[r][1] - t[r][2]);
      out[r * 3 + 2] = 0.5f * (t[r][1] + t[r][2]) + t[r][3];
    }
  }
}

}  // namespace shardnet
