#pragma once
// 2-D convolution by oneDNN's convolution primitives (the library PyTorch's CPU convolutions run
// on): direct convolutions in its blocked layouts, with AMX tiles, AVX512-BF16 or AVX-512/AVX2 FMA
// code chosen by the CPU. Conv2D's third path (core/conv2d.h), beside im2col + GEMM and Winograd.
//
// Our tensors stay (images, channels, height, width) float32: each call reorders its operands into
// the primitive's layout (and type: bfloat16 in bf16 mode, rounded to nearest even as to_bf16 does)
// and its result back. Each call is single-threaded (oneDNN's OpenMP pool is held at one thread, as
// for the bf16 matmul): Conv2D spreads a batch over the compute pool in calls whose image counts
// follow from the batch alone, so the result does not depend on the thread count. The calls count as
// GEMM time and work in KernelStats (their reorders included), as the GEMM paths' im2col does not.
#include <cstdint>
#include <map>
#include <vector>

#include "core/im2col.h"

namespace shardnet {

class OneDnnConv {
 public:
  OneDnnConv() = default;
  OneDnnConv(const ConvGeometry& geom, int64_t filters) : geom_(geom), filters_(filters) {}

  // The weights (filters, channels, kh, kw) in the layout of the forward (or backward-data)
  // primitive for calls of `images` images, unless already there since clear_weights(): once per
  // pass, then every call of that size reads them. bf16: bfloat16 operands with float32 results;
  // else float32 throughout. Not thread-safe: called before the calls are spread over threads.
  void ensure_weights(const float* w, int64_t images, bool bf16, bool for_backward_data);
  // Forgets the loaded weights (they changed): at the start of each forward and backward.
  void clear_weights();
  // y (images, filters, oh, ow) = x * w (+ bias when not null). Needs load_weights(.., false).
  void forward(const float* x, int64_t images, bool bf16, const float* bias, float* y) const;
  // dx (images, channels, h, w) from dy. Needs load_weights(.., true).
  void backward_data(const float* dy, int64_t images, bool bf16, float* dx) const;
  // dw (filters, channels, kh, kw) = the weight gradient of these images (overwritten).
  void backward_weights(const float* x, const float* dy, int64_t images, bool bf16, float* dw) const;

  // The implementation oneDNN picked for the forward of `images` images, e.g. "brgconv:avx512_core_amx_bf16".
  const char* forward_implementation(int64_t images, bool bf16) const;

 private:
  ConvGeometry geom_;
  int64_t filters_ = 0;
  // The loaded weights by images per call; bf16_ tells their precision.
  std::map<int64_t, std::vector<unsigned char>> forward_weights_, backward_weights_;
  bool bf16_ = false;
};

// True where oneDNN runs bf16 convolutions on AMX tiles (Sapphire Rapids and later).
bool cpu_has_amx_bf16();
// True where oneDNN's float32 convolutions run AVX-512 code.
bool cpu_has_avx512_convolutions();

}  // namespace shardnet
