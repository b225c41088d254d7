#include "core/winograd.h"

#include <algorithm>
#include <vector>

namespace shardnet {

void winograd_filter_transform(const float* w, int64_t filters, int64_t channels, bool for_input_gradient, float* u) {
  const int64_t plane = filters * channels;
  // Built as (plane, 16) and then written out point by point: 16 sequential streams instead of 16
  // stores a plane apart for every filter.
  thread_local std::vector<float> built;
  built.resize(static_cast<size_t>(plane * kWinogradPoints));
  for (int64_t k = 0; k < plane; ++k) {
    // Output element k is (f, c), or (c, f) for the input gradient.
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
    float* out = built.data() + k * kWinogradPoints;
    for (int r = 0; r < 4; ++r) {
      out[r * 4 + 0] = t[r][0];
      out[r * 4 + 1] = 0.5f * (t[r][0] + t[r][1] + t[r][2]);
      out[r * 4 + 2] = 0.5f * (t[r][0] - t[r][1] + t[r][2]);
      out[r * 4 + 3] = t[r][2];
    }
  }
  for (int p = 0; p < kWinogradPoints; ++p) {
    float* dst = u + p * plane;
    for (int64_t k = 0; k < plane; ++k) dst[k] = built[static_cast<size_t>(k * kWinogradPoints + p)];
  }
}

namespace {
// A plane copied into a zero border: one row and column before it, two after (an odd plane's last
// tile reaches one past the edge), so tiles are read without bounds checks.
void pad_plane(const float* plane, int64_t h, int64_t w, std::vector<float>& padded) {
  const int64_t pw = w + 3;
  padded.assign(static_cast<size_t>((h + 3) * pw), 0.0f);
  for (int64_t y = 0; y < h; ++y) std::copy_n(plane + y * w, w, padded.data() + (y + 1) * pw + 1);
}
}  // namespace

void winograd_input_transform(const float* images, int64_t count, int64_t channels, int64_t h, int64_t w, float* v,
                              int64_t ld) {
  const int64_t tiles_w = (w + 1) / 2, tiles = winograd_tiles(h, w), columns = count * tiles;
  const int64_t pw = w + 3;
  thread_local std::vector<float> padded, points;
  // Per channel, all tiles' 16 points are built in `points` (16, columns) and then copied out as
  // 16 runs of consecutive columns: written tile by tile into v, the 16 stores of a tile lie
  // channels * ld floats apart, a TLB miss each.
  points.resize(static_cast<size_t>(kWinogradPoints * columns));
  for (int64_t c = 0; c < channels; ++c) {
    for (int64_t i = 0; i < count; ++i) {
      pad_plane(images + (i * channels + c) * h * w, h, w, padded);
      for (int64_t t = 0; t < tiles; ++t) {
        const float* d0 = padded.data() + 2 * (t / tiles_w) * pw + 2 * (t % tiles_w);
        const float* d1 = d0 + pw;
        const float* d2 = d1 + pw;
        const float* d3 = d2 + pw;
        float tr[4][4];  // B^T d, B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]
        for (int s = 0; s < 4; ++s) {
          tr[0][s] = d0[s] - d2[s];
          tr[1][s] = d1[s] + d2[s];
          tr[2][s] = d2[s] - d1[s];
          tr[3][s] = d1[s] - d3[s];
        }
        float* out = points.data() + i * tiles + t;
        for (int r = 0; r < 4; ++r) {  // (B^T d) B
          out[(r * 4 + 0) * columns] = tr[r][0] - tr[r][2];
          out[(r * 4 + 1) * columns] = tr[r][1] + tr[r][2];
          out[(r * 4 + 2) * columns] = tr[r][2] - tr[r][1];
          out[(r * 4 + 3) * columns] = tr[r][1] - tr[r][3];
        }
      }
    }
    for (int p = 0; p < kWinogradPoints; ++p) {
      std::copy_n(points.data() + p * columns, columns, v + (p * channels + c) * ld);
    }
  }
}

void winograd_output_transform(const float* m, int64_t count, int64_t filters, int64_t h, int64_t w, int64_t ld,
                               float* out) {
  const int64_t tiles_w = (w + 1) / 2, tiles = winograd_tiles(h, w), columns = count * tiles;
  thread_local std::vector<float> points;
  points.resize(static_cast<size_t>(kWinogradPoints * columns));
  for (int64_t f = 0; f < filters; ++f) {
    // The 16 runs of this filter's columns, gathered once (see the input transform).
    for (int p = 0; p < kWinogradPoints; ++p) {
      std::copy_n(m + (p * filters + f) * ld, columns, points.data() + p * columns);
    }
    for (int64_t i = 0; i < count; ++i) {
      float* plane = out + (i * filters + f) * h * w;
      for (int64_t t = 0; t < tiles; ++t) {
        const float* src = points.data() + i * tiles + t;
        float s[2][4];  // A^T p, A^T = [1 1 1 0; 0 1 -1 -1]
        for (int c = 0; c < 4; ++c) {
          const float p0 = src[c * columns], p1 = src[(4 + c) * columns], p2 = src[(8 + c) * columns],
                      p3 = src[(12 + c) * columns];
          s[0][c] = p0 + p1 + p2;
          s[1][c] = p1 - p2 - p3;
        }
        const int64_t y = 2 * (t / tiles_w), x = 2 * (t % tiles_w);
        for (int r = 0; r < 2 && y + r < h; ++r) {  // (A^T p) A, clipped to the plane
          plane[(y + r) * w + x] = s[r][0] + s[r][1] + s[r][2];
          if (x + 1 < w) plane[(y + r) * w + x + 1] = s[r][1] - s[r][2] - s[r][3];
        }
      }
    }
  }
}

void winograd_gradient_transform(const float* dy, int64_t count, int64_t filters, int64_t h, int64_t w, float* out,
                                 int64_t ld) {
  const int64_t tiles_w = (w + 1) / 2, tiles = winograd_tiles(h, w), columns = count * tiles;
  thread_local std::vector<float> points;
  points.resize(static_cast<size_t>(kWinogradPoints * columns));
  for (int64_t f = 0; f < filters; ++f) {
    for (int64_t i = 0; i < count; ++i) {
      const float* plane = dy + (i * filters + f) * h * w;
      for (int64_t t = 0; t < tiles; ++t) {
        const int64_t y = 2 * (t / tiles_w), x = 2 * (t % tiles_w);
        // The 2x2 tile of dy, zero past the plane (outputs the forward clipped).
        const bool right = x + 1 < w, below = y + 1 < h;
        const float g00 = plane[y * w + x], g01 = right ? plane[y * w + x + 1] : 0.0f;
        const float g10 = below ? plane[(y + 1) * w + x] : 0.0f,
                    g11 = right && below ? plane[(y + 1) * w + x + 1] : 0.0f;
        // a = A g (4x2), A = [1 0; 1 1; 1 -1; 0 -1]; then a A^T (4x4)
        const float a[4][2] = {{g00, g01}, {g00 + g10, g01 + g11}, {g00 - g10, g01 - g11}, {-g10, -g11}};
        float* o = points.data() + i * tiles + t;
        for (int r = 0; r < 4; ++r) {
          o[(r * 4 + 0) * columns] = a[r][0];
          o[(r * 4 + 1) * columns] = a[r][0] + a[r][1];
          o[(r * 4 + 2) * columns] = a[r][0] - a[r][1];
          o[(r * 4 + 3) * columns] = -a[r][1];
        }
      }
    }
    for (int p = 0; p < kWinogradPoints; ++p) {
      std::copy_n(points.data() + p * columns, columns, out + (p * filters + f) * ld);
    }
  }
}

void winograd_weight_gradient_output(const float* m, int64_t filters, int64_t channels, float* dw) {
  const int64_t plane = filters * channels;
  for (int64_t k = 0; k < plane; ++k) {
    float p[4][4];
    for (int q = 0; q < kWinogradPoints; ++q) p[q / 4][q % 4] = m[q * plane + k];
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
