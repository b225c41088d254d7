#include "core/bf16_matmul.h"

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include "core/onednn_runtime.h"

namespace shardnet {
namespace {

using dnnl::memory;

bool cpu_has_bf16_instructions() {
  const dnnl::cpu_isa isa = dnnl::get_effective_cpu_isa();
  return isa == dnnl::cpu_isa::avx512_core_bf16 || isa == dnnl::cpu_isa::avx512_core_amx;
}

std::atomic<Bf16Backend>& selected_backend() {
  static std::atomic<Bf16Backend> backend{cpu_has_bf16_instructions() ? Bf16Backend::kOneDnn : Bf16Backend::kReference};
  return backend;
}

// One primitive per call shape, made once: a training step repeats the same few dozen shapes.
using ShapeKey = std::tuple<bool, bool, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, float, float>;

struct Prepared {
  dnnl::matmul primitive;
  memory::desc a, b, c, scratchpad;
};

memory::desc matrix_desc(int64_t rows, int64_t cols, int64_t stride, bool transposed, memory::data_type type) {
  // Element (i, j) of op(X) is at i * stride + j, or at j * stride + i when X is stored transposed.
  return {{rows, cols}, type, transposed ? memory::dims{1, stride} : memory::dims{stride, 1}};
}

std::shared_ptr<const Prepared> prepare(const ShapeKey& key) {
  const auto [trans_a, trans_b, m, n, k, lda, ldb, ldc, alpha, beta] = key;
  auto prepared = std::make_shared<Prepared>();
  prepared->a = matrix_desc(m, k, lda, trans_a, memory::data_type::bf16);
  prepared->b = matrix_desc(k, n, ldb, trans_b, memory::data_type::bf16);
  prepared->c = matrix_desc(m, n, ldc, false, memory::data_type::f32);
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  if (alpha != 1.0f) attr.set_output_scales(0, {alpha});
  if (beta != 0.0f) {
    dnnl::post_ops sum;
    sum.append_sum(beta);
    attr.set_post_ops(sum);
  }
  try {
    const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(prepared->a, prepared->b, prepared->c), attr,
                                          onednn_engine());
    prepared->scratchpad = pd.scratchpad_desc();
    prepared->primitive = dnnl::matmul(pd);
  } catch (const dnnl::error& e) {
    throw std::runtime_error("oneDNN: no bf16 matmul for " + std::to_string(m) + "x" + std::to_string(n) + "x" +
                             std::to_string(k) + ": " + e.what());
  }
  return prepared;
}

std::shared_ptr<const Prepared> prepared_for(const ShapeKey& key) {
  static std::mutex mutex;
  static std::map<ShapeKey, std::shared_ptr<const Prepared>> cache;
  const std::lock_guard<std::mutex> lock(mutex);
  auto& slot = cache[key];
  if (!slot) slot = prepare(key);
  return slot;
}

}  // namespace

Bf16Backend bf16_backend() { return selected_backend().load(std::memory_order_relaxed); }

const char* bf16_backend_name() {
  if (bf16_backend() == Bf16Backend::kReference) {
    return cpu_has_bf16_instructions() ? "reference (operands rounded to bf16, fp32 sgemm)"
                                       : "reference (operands rounded to bf16, fp32 sgemm: no bf16 instructions)";
  }
  return dnnl::get_effective_cpu_isa() == dnnl::cpu_isa::avx512_core_amx ? "oneDNN 2.6 (AMX)"
                                                                         : "oneDNN 2.6 (AVX512-BF16)";
}

void set_bf16_backend(Bf16Backend backend) {
  if (backend == Bf16Backend::kOneDnn && !cpu_has_bf16_instructions()) {
    throw std::runtime_error("the oneDNN bf16 backend needs AVX512-BF16 or AMX, which this CPU does not have");
  }
  selected_backend().store(backend, std::memory_order_relaxed);
}

void bf16_matmul(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const uint16_t* a,
                 int64_t lda, const uint16_t* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  if (m == 0 || n == 0) return;
  // One call on this thread (onednn_stream): gemm() spreads the chunks of a product over the pool.
  dnnl::stream& stream = onednn_stream();
  const auto prepared = prepared_for({trans_a, trans_b, m, n, k, lda, ldb, ldc, alpha, beta});
  const dnnl::engine& engine = onednn_engine();
  // oneDNN's memory objects take non-const handles; the sources are only read.
  memory a_mem(prepared->a, engine, const_cast<uint16_t*>(a));  // NOLINT(cppcoreguidelines-pro-type-const-cast)
  memory b_mem(prepared->b, engine, const_cast<uint16_t*>(b));  // NOLINT(cppcoreguidelines-pro-type-const-cast)
  memory c_mem(prepared->c, engine, c);
  memory pad_mem(prepared->scratchpad, engine, onednn_scratchpad(prepared->scratchpad.get_size()));
  prepared->primitive.execute(
      stream,
      {{DNNL_ARG_SRC, a_mem}, {DNNL_ARG_WEIGHTS, b_mem}, {DNNL_ARG_DST, c_mem}, {DNNL_ARG_SCRATCHPAD, pad_mem}});
  stream.wait();
}

}  // namespace shardnet
