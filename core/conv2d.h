#pragma once
// 2-D convolution (cross-correlation, as in Caffe and PyTorch) by im2col + GEMM, one block of images
// at a time. A block is one image when its output has enough pixels for an efficient GEMM (the
// GEMM then reads and writes the (filters, pixels) layout directly), else as many images side by
// side as reach kMinGemmColumns while their columns stay in L2. A 1x1 convolution needs no im2col.
// Weight (filters, channels, kernel_h, kernel_w), bias (filters).
#include "core/im2col.h"
#include "core/init.h"
#include "core/layer.h"
#include "core/onednn_conv.h"

namespace shardnet {

// How the convolution is computed: im2col + GEMM, Winograd F(2x2, 3x3) (core/winograd.h, for 3x3
// kernels with stride 1 and pad 1: forward, dx and dW), or oneDNN's convolution primitives
// (core/onednn_conv.h). Auto, by what was measured faster (docs/PERFORMANCE.md): with at least
// kOneDnnMinChannels input channels, oneDNN in bf16 mode on a CPU with AMX; otherwise Winograd
// where it applies and both channel counts reach kWinogradMinChannels, and else oneDNN on a CPU
// with AVX-512 (at kOneDnnMinChannels), im2col + GEMM on others. bf16 mode on a CPU without bf16
// instructions always runs the reference GEMM (core/bf16_matmul.h).
enum class ConvAlgorithm { kAuto, kGemm, kWinograd, kOneDnn };

struct Conv2DConfig {
  int64_t filters = 0;
  int64_t kernel_h = 3, kernel_w = 3;
  int64_t stride_h = 1, stride_w = 1;
  int64_t pad_h = 0, pad_w = 0;
  bool bias = true;
  InitSpec init;
  // Identity on the first min(filters, channels) filters after the random init (torch.nn.init.dirac_
  // on part of the weight): a block starts near a residual connection without one.
  bool dirac = false;
  // Whitening filters computed from the training data before training (core/whitening.h); the
  // trainer calls initialize_whitening() when the conv sees the data itself.
  bool whiten = false;
  ConvAlgorithm algorithm = ConvAlgorithm::kAuto;
};

class Conv2D : public Layer {
 public:
  // Columns per GEMM below which images are batched side by side (and their output transposed).
  static constexpr int64_t kMinGemmColumns = 128;
  // dW is summed over at most this many groups of images (on the compute threads), then added up.
  static constexpr int64_t kWeightGradGroups = 8;
  // Measured on the CIFAR fast model: with 24 input channels the 16 small GEMMs lost to one im2col
  // GEMM (187 vs 174 ms per step of 256), from 64 on they won (256: 253 vs 325 ms).
  static constexpr int64_t kWinogradMinChannels = 32;
  // oneDNN's blocked layouts pad the channels to 16: below that, auto keeps a first layer of
  // images (1-3 channels) on im2col + GEMM (Xeon: MNIST's conv1 2.6 vs 2.2 ms per step in fp32,
  // CIFAR's 2x2 stem 9.4 vs 3.9 ms).
  static constexpr int64_t kOneDnnMinChannels = 16;
  // A batch is this many oneDNN calls (Xeon, 1 thread: the MNIST CNN's step 33.6, 31.6, 31.1 and
  // 37.8 ms with 1, 2, 4 and 8; the CIFAR fast model's in bf16 335, 345, 348 and 363 ms).
  static constexpr int64_t kOneDnnCalls = 4;
  // Winograd blocks hold at least this many 2x2 tiles (the GEMMs' column count).
  static constexpr int64_t kWinogradMinTiles = 256;
  // Whitening's eps relative to the mean patch variance (airbench's 5e-4 on unit-variance data).
  static constexpr double kWhiteningEps = 5e-4;

  Conv2D(std::string name, const Conv2DConfig& config);
  std::string type() const override { return "conv"; }
  Shape setup(const Shape& input) override;
  void initialize(uint64_t seed) override;
  void forward(const Tensor& x, Tensor& y, Mode mode) override;
  void backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx) override;
  std::vector<Param*> params() override;
  std::string describe() const override;

  Param& weight() { return weight_; }
  const Conv2DConfig& config() const { return config_; }
  bool uses_winograd() const { return winograd_ && !uses_onednn(); }
  // Whether forward and backward run on oneDNN, in the current precision (core/gemm.h).
  bool uses_onednn() const;
  Param& bias() { return bias_; }

 private:
  void set_identity_filters();

 public:
  // Sets the weights and biases to whitening filters of the patches of `images` (N, C, H, W), the
  // input this layer sees. Needs bias = 1 and an even number of filters, at most 2 C k k.
  void initialize_whitening(const Tensor& images);
  bool initializes_from_data() const override { return config_.whiten; }
  void initialize_from_data(const Tensor& samples) override { initialize_whitening(samples); }

 private:
  struct Scratch {
    Tensor columns;  // (col_rows, block * out_pixels), then dL/dcolumns
    Tensor out;      // (filters, block * out_pixels): a block's GEMM output or gathered dy
    Tensor points;   // Winograd: a group's weight gradient in the transform domain
    // In bf16 mode: the columns (or Winograd's transformed input) and dy's block (or its transform).
    std::vector<uint16_t> columns_bf16, out_bf16;
  };
  int64_t images_per_block(int64_t batch) const;
  // The column matrix of images [first, first + count) as T (float, or bfloat16 bits in bf16 mode):
  // written into the scratch, or in float32 x itself for one image of a 1x1 conv.
  template <typename T>
  const T* columns_of(const float* x, int64_t first, int64_t count, Scratch& s) const;
  // The weights as T: in bf16 mode rounded once per forward and backward (round_weights_for_bf16).
  template <typename T>
  const T* weights_as() const;
  void round_weights_for_bf16();
  // The work of forward and backward on n images (the batch, or one grain of it in exact mode); dx
  // may be null. Backward writes the parameter gradients of these images.
  void forward_images(const float* x, int64_t n, float* y);
  void backward_images(const float* x, const float* dy, int64_t n, float* dx);
  // The im2col + GEMM path of both, on operands in T.
  template <typename T>
  void forward_blocks(const float* x, int64_t n, float* y);
  template <typename T>
  void backward_blocks(const float* x, const float* dy, int64_t n, float* dx);
  bool pointwise() const;  // 1x1, stride 1, no padding
  void add_bias(float* out, int64_t images) const;
  void bias_gradient(const float* dy, int64_t n);
  Scratch& scratch(int chunk);    // one per compute thread, grown to the pool's size
  bool winograd_applies() const;  // 3x3, stride 1, pad 1
  void winograd_weight_gradient(const float* x, const float* dy, int64_t n);
  int64_t winograd_images_per_block(int64_t batch) const;
  // dW's fixed groups: sized for `blocks`, each written through group_gradient(), then added in order.
  int64_t prepare_gradient_groups(int64_t blocks);
  float* group_gradient(int64_t group);
  void add_gradient_groups(int64_t groups);
  // The weights to the Winograd domain, for the forward or for dx, in the operands' precision.
  void transform_winograd_filters(bool for_input_gradient);
  // Winograd convolution of `in` (n, in_channels, H, W) with the transformed filters.
  void winograd_convolve(const float* in, int64_t n, int64_t in_channels, int64_t out_channels, float* out,
                         bool add_bias);
  // The same with the transform-domain operands in T: float, or bfloat16 bits (bf16 mode).
  template <typename T>
  void winograd_convolve_as(const float* in, int64_t n, int64_t in_channels, const T* u, int64_t out_channels,
                            float* out, bool add_bias);
  template <typename T>
  void winograd_weight_gradient_as(const float* x, const float* dy, int64_t n);
  // The oneDNN path: calls of onednn_images_per_call(n) images (the last may be shorter), spread
  // over the compute pool; dW summed over the calls' groups as in the GEMM path.
  static int64_t onednn_images_per_call(int64_t n);
  void load_onednn_weights(int64_t n, bool for_backward_data);
  void onednn_forward(const float* x, int64_t n, float* y);
  void onednn_backward(const float* x, const float* dy, int64_t n, float* dx);
  // Adds to KernelStats::flops_saved what the im2col GEMM would have done beyond Winograd's GEMMs.
  void count_winograd_savings(int64_t out_channels, int64_t in_channels, int64_t images, int64_t columns) const;

  Conv2DConfig config_;
  ConvGeometry geom_;
  Param weight_, bias_;
  std::vector<Scratch> scratch_;
  std::vector<Tensor> group_grads_;  // dW of groups 1.. of the batch (group 0 sums into weight_.grad)
  bool winograd_ = false;
  Tensor winograd_filters_;                      // (16, filters, channels), or (16, channels, filters) for dx
  std::vector<uint16_t> winograd_filters_bf16_;  // the same in bfloat16 (bf16 mode: instead of the above)
  std::vector<uint16_t> weight_bf16_;            // the weights in bfloat16 (im2col path, bf16 mode)
  OneDnnConv onednn_;
};

}  // namespace shardnet
