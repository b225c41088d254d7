#include "core/onednn_conv.h"

#include <algorithm>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <tuple>

#include "core/kernel_stats.h"
#include "core/onednn_runtime.h"

namespace shardnet {
namespace {

using dnnl::memory;
using Tag = memory::format_tag;
using Type = memory::data_type;

// One set of primitives per call shape and precision: a training step repeats the same few shapes.
using ShapeKey =
    std::tuple<int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, bool>;

ShapeKey key_of(const ConvGeometry& g, int64_t filters, int64_t images, bool bf16) {
  return {images,     g.channels, g.height,   g.width, filters, g.kernel_h,
          g.kernel_w, g.stride_h, g.stride_w, g.pad_h, g.pad_w, bf16};
}

// A reorder between our plain float32 layout and a primitive's, made only where the two differ.
struct Reorder {
  memory::desc plain, internal;
  std::optional<dnnl::reorder> to_internal, to_plain;

  Reorder(const memory::desc& plain_desc, const memory::desc& internal_desc, bool inward)
      : plain(plain_desc), internal(internal_desc) {
    if (plain == internal) return;
    const dnnl::engine& e = onednn_engine();
    if (inward) {
      to_internal = dnnl::reorder(dnnl::reorder::primitive_desc(e, plain, e, internal));
    } else {
      to_plain = dnnl::reorder(dnnl::reorder::primitive_desc(e, internal, e, plain));
    }
  }
  bool needed() const { return plain != internal; }
};

struct Prepared {
  dnnl::convolution_forward forward;
  dnnl::convolution_backward_data backward_data;
  dnnl::convolution_backward_weights backward_weights;
  memory::desc bias, forward_scratchpad, data_scratchpad, weights_scratchpad;
  // Forward: x in, weights in, y out. Backward data: dy in, weights in, dx out. Backward weights:
  // x in, dy in, dw out.
  std::unique_ptr<Reorder> x, w, y, dy, w_for_data, dx, x_for_weights, dy_for_weights, dw;
  std::string forward_impl;
};

std::shared_ptr<const Prepared> prepare(const ConvGeometry& g, int64_t filters, int64_t images, bool bf16) {
  const Type operand = bf16 ? Type::bf16 : Type::f32;
  const memory::dims x_dims{images, g.channels, g.height, g.width};
  const memory::dims w_dims{filters, g.channels, g.kernel_h, g.kernel_w};
  const memory::dims y_dims{images, filters, g.out_h(), g.out_w()};
  const memory::dims strides{g.stride_h, g.stride_w}, padding{g.pad_h, g.pad_w};
  // The right padding that makes oneDNN's output size ours (the last window may end short of it).
  const memory::dims padding_r{(g.out_h() - 1) * g.stride_h + g.kernel_h - g.height - g.pad_h,
                               (g.out_w() - 1) * g.stride_w + g.kernel_w - g.width - g.pad_w};
  const memory::desc x_any(x_dims, operand, Tag::any), w_any(w_dims, operand, Tag::any);
  const memory::desc y_any(y_dims, Type::f32, Tag::any), dy_any(y_dims, operand, Tag::any);
  const memory::desc dx_any(x_dims, Type::f32, Tag::any), dw_any(w_dims, Type::f32, Tag::any);
  const memory::desc bias(memory::dims{filters}, Type::f32, Tag::x);
  const memory::desc x_plain(x_dims, Type::f32, Tag::nchw), w_plain(w_dims, Type::f32, Tag::oihw);
  const memory::desc y_plain(y_dims, Type::f32, Tag::nchw);
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  const dnnl::engine& e = onednn_engine();
  const auto algo = dnnl::algorithm::convolution_direct;
  const auto training = dnnl::prop_kind::forward_training;
  auto p = std::make_shared<Prepared>();
  try {
    const dnnl::convolution_forward::primitive_desc forward_pd(
        dnnl::convolution_forward::desc(training, algo, x_any, w_any, bias, y_any, strides, padding, padding_r), attr,
        e);
    // The backward primitives' hint: a forward whose output has dy's type.
    const dnnl::convolution_forward::primitive_desc hint(
        dnnl::convolution_forward::desc(training, algo, x_any, w_any, dy_any, strides, padding, padding_r), e);
    const dnnl::convolution_backward_data::primitive_desc data_pd(
        dnnl::convolution_backward_data::desc(algo, dx_any, w_any, dy_any, strides, padding, padding_r), attr, e, hint);
    const dnnl::convolution_backward_weights::primitive_desc weights_pd(
        dnnl::convolution_backward_weights::desc(algo, x_any, dw_any, dy_any, strides, padding, padding_r), attr, e,
        hint);
    p->forward = dnnl::convolution_forward(forward_pd);
    p->backward_data = dnnl::convolution_backward_data(data_pd);
    p->backward_weights = dnnl::convolution_backward_weights(weights_pd);
    p->bias = bias;
    p->forward_scratchpad = forward_pd.scratchpad_desc();
    p->data_scratchpad = data_pd.scratchpad_desc();
    p->weights_scratchpad = weights_pd.scratchpad_desc();
    p->x = std::make_unique<Reorder>(x_plain, forward_pd.src_desc(), true);
    p->w = std::make_unique<Reorder>(w_plain, forward_pd.weights_desc(), true);
    p->y = std::make_unique<Reorder>(y_plain, forward_pd.dst_desc(), false);
    p->dy = std::make_unique<Reorder>(y_plain, data_pd.diff_dst_desc(), true);
    p->w_for_data = std::make_unique<Reorder>(w_plain, data_pd.weights_desc(), true);
    p->dx = std::make_unique<Reorder>(x_plain, data_pd.diff_src_desc(), false);
    p->x_for_weights = std::make_unique<Reorder>(x_plain, weights_pd.src_desc(), true);
    p->dy_for_weights = std::make_unique<Reorder>(y_plain, weights_pd.diff_dst_desc(), true);
    p->dw = std::make_unique<Reorder>(w_plain, weights_pd.diff_weights_desc(), false);
    p->forward_impl = forward_pd.impl_info_str();
  } catch (const dnnl::error& err) {
    throw std::runtime_error("oneDNN: no " + std::string(bf16 ? "bf16" : "fp32") + " convolution for " +
                             std::to_string(images) + " images of " + std::to_string(g.channels) + "x" +
                             std::to_string(g.height) + "x" + std::to_string(g.width) + " -> " +
                             std::to_string(filters) + " filters: " + err.what());
  }
  return p;
}

std::shared_ptr<const Prepared> prepared_for(const ConvGeometry& g, int64_t filters, int64_t images, bool bf16) {
  static std::mutex mutex;
  static std::map<ShapeKey, std::shared_ptr<const Prepared>> cache;
  const std::lock_guard<std::mutex> lock(mutex);
  auto& slot = cache[key_of(g, filters, images, bf16)];
  if (!slot) slot = prepare(g, filters, images, bf16);
  return slot;
}

// A call's work as a GEMM's: 2 * filters * (channels * kh * kw) * output pixels per image.
void count_call(const ConvGeometry& g, int64_t filters, int64_t images) {
  if (kernel_stats_enabled()) {
    kernel_stats().gemm_flops += 2.0 * static_cast<double>(filters * g.col_rows() * g.col_cols() * images);
  }
}

// This thread's buffers for a call's operands in the primitives' layouts.
unsigned char* buffer(int slot, size_t bytes) {
  thread_local std::vector<unsigned char> buffers[3];
  std::vector<unsigned char>& b = buffers[slot];
  if (b.size() < bytes) b.resize(bytes);
  return b.data();
}

// Our plain operand as the primitive reads it: itself, or reordered into this thread's buffer `slot`.
memory operand_in(const Reorder& r, const float* plain, int slot) {
  const dnnl::engine& e = onednn_engine();
  // oneDNN's memory objects take non-const handles; a source is only read.
  memory user(r.plain, e, const_cast<float*>(plain));  // NOLINT(cppcoreguidelines-pro-type-const-cast)
  if (!r.needed()) return user;
  memory internal(r.internal, e, buffer(slot, r.internal.get_size()));
  r.to_internal->execute(onednn_stream(), user, internal);
  return internal;
}

// Where the primitive writes a result: our plain array itself, or this thread's buffer `slot`.
memory operand_out(const Reorder& r, float* plain, int slot) {
  const dnnl::engine& e = onednn_engine();
  if (!r.needed()) return {r.plain, e, plain};
  return {r.internal, e, buffer(slot, r.internal.get_size())};
}

void finish_out(const Reorder& r, memory result, float* plain) {
  if (!r.needed()) return;
  memory user(r.plain, onednn_engine(), plain);
  r.to_plain->execute(onednn_stream(), result, user);
}

memory scratchpad(const memory::desc& desc) { return {desc, onednn_engine(), onednn_scratchpad(desc.get_size())}; }

}  // namespace

void OneDnnConv::clear_weights() {
  forward_weights_.clear();
  backward_weights_.clear();
}

void OneDnnConv::ensure_weights(const float* w, int64_t images, bool bf16, bool for_backward_data) {
  if (bf16 != bf16_) clear_weights();
  bf16_ = bf16;
  auto& loaded_by_size = for_backward_data ? backward_weights_ : forward_weights_;
  if (loaded_by_size.count(images) != 0) return;
  KernelTimer timer(&KernelStats::gemm_seconds);
  dnnl::stream& stream = onednn_stream();
  const auto p = prepared_for(geom_, filters_, images, bf16);
  const Reorder& r = for_backward_data ? *p->w_for_data : *p->w;
  std::vector<unsigned char>& loaded = loaded_by_size[images];
  loaded.resize(r.internal.get_size());
  if (!r.needed()) {
    std::copy_n(reinterpret_cast<const unsigned char*>(w), loaded.size(), loaded.data());
    return;
  }
  const dnnl::engine& e = onednn_engine();
  memory user(r.plain, e, const_cast<float*>(w));  // NOLINT(cppcoreguidelines-pro-type-const-cast)
  memory internal(r.internal, e, loaded.data());
  r.to_internal->execute(stream, user, internal);
  stream.wait();
}

namespace {
memory loaded_weights(const std::map<int64_t, std::vector<unsigned char>>& loaded, int64_t images,
                      const memory::desc& desc) {
  const auto it = loaded.find(images);
  if (it == loaded.end()) throw std::logic_error("OneDnnConv: weights not loaded for this call size");
  // NOLINTNEXTLINE(cppcoreguidelines-pro-type-const-cast): read only
  return {desc, onednn_engine(), const_cast<unsigned char*>(it->second.data())};
}
}  // namespace

void OneDnnConv::forward(const float* x, int64_t images, bool bf16, const float* bias, float* y) const {
  KernelTimer timer(&KernelStats::gemm_seconds);
  count_call(geom_, filters_, images);
  dnnl::stream& stream = onednn_stream();
  const auto p = prepared_for(geom_, filters_, images, bf16);
  const memory src = operand_in(*p->x, x, 0);
  memory dst = operand_out(*p->y, y, 1);
  const memory weights = loaded_weights(forward_weights_, images, p->w->internal);
  // No bias: zeros, so that one primitive serves both.
  thread_local std::vector<float> zeros;
  if (bias == nullptr && zeros.size() < static_cast<size_t>(filters_)) zeros.resize(static_cast<size_t>(filters_));
  // NOLINTNEXTLINE(cppcoreguidelines-pro-type-const-cast): read only
  const memory bias_mem(p->bias, onednn_engine(), const_cast<float*>(bias != nullptr ? bias : zeros.data()));
  p->forward.execute(stream, {{DNNL_ARG_SRC, src},
                              {DNNL_ARG_WEIGHTS, weights},
                              {DNNL_ARG_BIAS, bias_mem},
                              {DNNL_ARG_DST, dst},
                              {DNNL_ARG_SCRATCHPAD, scratchpad(p->forward_scratchpad)}});
  finish_out(*p->y, dst, y);
  stream.wait();
}

void OneDnnConv::backward_data(const float* dy, int64_t images, bool bf16, float* dx) const {
  KernelTimer timer(&KernelStats::gemm_seconds);
  count_call(geom_, filters_, images);
  dnnl::stream& stream = onednn_stream();
  const auto p = prepared_for(geom_, filters_, images, bf16);
  const memory diff_dst = operand_in(*p->dy, dy, 0);
  const memory diff_src = operand_out(*p->dx, dx, 1);
  const memory weights = loaded_weights(backward_weights_, images, p->w_for_data->internal);
  p->backward_data.execute(stream, {{DNNL_ARG_DIFF_DST, diff_dst},
                                    {DNNL_ARG_WEIGHTS, weights},
                                    {DNNL_ARG_DIFF_SRC, diff_src},
                                    {DNNL_ARG_SCRATCHPAD, scratchpad(p->data_scratchpad)}});
  finish_out(*p->dx, diff_src, dx);
  stream.wait();
}

void OneDnnConv::backward_weights(const float* x, const float* dy, int64_t images, bool bf16, float* dw) const {
  KernelTimer timer(&KernelStats::gemm_seconds);
  count_call(geom_, filters_, images);
  dnnl::stream& stream = onednn_stream();
  const auto p = prepared_for(geom_, filters_, images, bf16);
  const memory src = operand_in(*p->x_for_weights, x, 0);
  const memory diff_dst = operand_in(*p->dy_for_weights, dy, 1);
  const memory diff_weights = operand_out(*p->dw, dw, 2);
  p->backward_weights.execute(stream, {{DNNL_ARG_SRC, src},
                                       {DNNL_ARG_DIFF_DST, diff_dst},
                                       {DNNL_ARG_DIFF_WEIGHTS, diff_weights},
                                       {DNNL_ARG_SCRATCHPAD, scratchpad(p->weights_scratchpad)}});
  finish_out(*p->dw, diff_weights, dw);
  stream.wait();
}

const char* OneDnnConv::forward_implementation(int64_t images, bool bf16) const {
  return prepared_for(geom_, filters_, images, bf16)->forward_impl.c_str();
}

bool cpu_has_amx_bf16() { return dnnl::get_effective_cpu_isa() == dnnl::cpu_isa::avx512_core_amx; }

bool cpu_has_avx512_convolutions() {
  switch (dnnl::get_effective_cpu_isa()) {
    case dnnl::cpu_isa::avx512_core:
    case dnnl::cpu_isa::avx512_core_vnni:
    case dnnl::cpu_isa::avx512_core_bf16:
    case dnnl::cpu_isa::avx512_core_amx:
      return true;
    default:
      return false;
  }
}

}  // namespace shardnet
