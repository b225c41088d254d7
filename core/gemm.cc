#include "core/gemm.h"

#include <cblas.h>

#include <algorithm>
#include <atomic>
#include <istream>
#include <limits>
#include <ostream>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/bf16_matmul.h"
#include "core/enum_names.h"
#include "core/half_float.h"
#include "core/kernel_stats.h"
#include "core/parallel.h"

namespace shardnet {
namespace {
// A large GEMM is computed as chunks of C's columns (or rows), one single-threaded BLAS call each.
// The chunks follow from the shape alone, never from the thread count: some kernels round an element
// differently depending on the extent of the call it is in (OpenBLAS 0.3.21's Haswell sgemm does,
// within a few columns of a call's edge), so only identical calls give identical bits.
constexpr int64_t kChunkAlign = 64;
// Each call repacks the other operand, so a chunk is never narrower than this.
constexpr int64_t kMinChunk = 256;
// The work a chunk is given at least (tens of microseconds; a BLAS call costs about one).
constexpr double kChunkFlops = 1 << 23;
// Below this many FLOPs a GEMM is one call (waking the pool costs a few microseconds).
constexpr double kMinSplitFlops = 2.0 * 64 * 64 * 64;

blasint to_blas(int64_t v) {
  if (v < 0 || v > std::numeric_limits<blasint>::max()) {
    throw std::length_error("gemm: dimension " + std::to_string(v) + " outside the BLAS integer range");
  }
  return static_cast<blasint>(v);
}

void blas_sgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
                const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, to_blas(m),
              to_blas(n), to_blas(k), alpha, a, to_blas(lda), b, to_blas(ldb), beta, c, to_blas(ldc));
}

// The columns (or rows) of C one call computes, from the shape only.
int64_t chunk_extent(int64_t extent, int64_t other, int64_t k) {
  const double flops = 2.0 * static_cast<double>(extent) * other * k;
  if (flops < kMinSplitFlops) return extent;
  const double per_line = std::max(2.0 * static_cast<double>(other) * k, 1.0);
  const auto wanted = static_cast<int64_t>(std::min(kChunkFlops / per_line, static_cast<double>(extent)));
  const int64_t aligned = (std::max(wanted, kMinChunk) + kChunkAlign - 1) / kChunkAlign * kChunkAlign;
  return std::min(aligned, extent);
}

// Calls multiply(m', n', a', b', c') on the chunks of C (chunk_extent), spread over the compute pool.
// T is the operands' element type: float, or bfloat16 bit patterns.
template <typename T, typename Multiply>
void for_each_chunk(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const T* a, int64_t lda, const T* b,
                    int64_t ldb, float* c, int64_t ldc, const Multiply& multiply) {
  const bool by_columns = n >= m;
  const int64_t extent = by_columns ? n : m;
  const int64_t chunk = chunk_extent(extent, by_columns ? m : n, k);
  const int64_t chunks = (extent + chunk - 1) / chunk;
  // parallel_for runs serially on one thread, or when nested in another job.
  parallel_for(chunks, 1, [&](int64_t first, int64_t last) {
    for (int64_t i = first; i < last; ++i) {
      const int64_t begin = i * chunk, count = std::min(chunk, extent - begin);
      if (by_columns) {
        multiply(m, count, a, trans_b ? b + begin * ldb : b + begin, c + begin);
      } else {
        multiply(count, n, trans_a ? a + begin : a + begin * lda, b, c + begin * ldc);
      }
    }
  });
}

// The float32 product on the chunks: gemm()'s own, and the bf16 reference's on rounded operands.
void sgemm_in_chunks(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
                     int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  for_each_chunk(trans_a, trans_b, m, n, k, a, lda, b, ldb, c, ldc,
                 [&](int64_t cm, int64_t cn, const float* ca, const float* cb, float* cc) {
                   blas_sgemm(trans_a, trans_b, cm, cn, k, alpha, ca, lda, cb, ldb, beta, cc, ldc);
                 });
}

// A rows x cols matrix with row stride `stride`, converted row by row into a compact `out`.
template <typename From, typename To, typename Convert>
const To* compact_copy(const From* in, int64_t rows, int64_t cols, int64_t stride, std::vector<To>& out,
                       const Convert& convert) {
  out.resize(static_cast<size_t>(rows * cols));
  parallel_for(rows, std::max<int64_t>(1, (int64_t{1} << 16) / std::max<int64_t>(cols, 1)),
               [&](int64_t first, int64_t last) {
                 for (int64_t r = first; r < last; ++r) {
                   convert(in + r * stride, out.data() + r * cols, static_cast<size_t>(cols));
                 }
               });
  return out.data();
}

void round_to_bf16(const float* in, float* out, size_t n) {
  for (size_t i = 0; i < n; ++i) out[i] = from_bf16(to_bf16(in[i]));
}

std::atomic<Precision>& current_precision() {
  static std::atomic<Precision> precision{Precision::kFp32};
  return precision;
}

constexpr EnumName<Precision> kPrecisionNames[] = {{Precision::kFp32, "fp32"}, {Precision::kBf16, "bf16"}};

// The product of bfloat16 operands with float32 accumulation (core/bf16_matmul.h).
void multiply_bf16(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const uint16_t* a,
                   int64_t lda, const uint16_t* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  if (bf16_backend() == Bf16Backend::kReference) {
    // Widened to float32, where their products are exact, and multiplied by sgemm.
    thread_local std::vector<float> a_wide, b_wide;
    const auto widen = [](const uint16_t* in, float* out, size_t count) { from_bf16(in, out, count); };
    const int64_t a_cols = trans_a ? m : k, b_cols = trans_b ? k : n;
    const float* wa = compact_copy(a, trans_a ? k : m, a_cols, lda, a_wide, widen);
    const float* wb = compact_copy(b, trans_b ? n : k, b_cols, ldb, b_wide, widen);
    sgemm_in_chunks(trans_a, trans_b, m, n, k, alpha, wa, a_cols, wb, b_cols, beta, c, ldc);
    return;
  }
  for_each_chunk(trans_a, trans_b, m, n, k, a, lda, b, ldb, c, ldc,
                 [&](int64_t cm, int64_t cn, const uint16_t* ca, const uint16_t* cb, float* cc) {
                   bf16_matmul(trans_a, trans_b, cm, cn, k, alpha, ca, lda, cb, ldb, beta, cc, ldc);
                 });
}

// op(A) and op(B) rounded to bfloat16, multiplied with float32 accumulation.
void gemm_rounding_to_bf16(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
                           int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  // As stored: A is m x k (k x m transposed), B is k x n (n x k transposed).
  const int64_t a_rows = trans_a ? k : m, a_cols = trans_a ? m : k;
  const int64_t b_rows = trans_b ? n : k, b_cols = trans_b ? k : n;
  if (bf16_backend() == Bf16Backend::kReference) {
    // Rounded but kept in float32: one pass instead of rounding and widening.
    thread_local std::vector<float> a_rounded, b_rounded;
    const float* ra = compact_copy(a, a_rows, a_cols, lda, a_rounded, round_to_bf16);
    const float* rb = compact_copy(b, b_rows, b_cols, ldb, b_rounded, round_to_bf16);
    sgemm_in_chunks(trans_a, trans_b, m, n, k, alpha, ra, a_cols, rb, b_cols, beta, c, ldc);
    return;
  }
  thread_local std::vector<uint16_t> a_bf16, b_bf16;
  const auto to_bits = [](const float* in, uint16_t* out, size_t count) { to_bf16(in, out, count); };
  const uint16_t* ha = compact_copy(a, a_rows, a_cols, lda, a_bf16, to_bits);
  const uint16_t* hb = compact_copy(b, b_rows, b_cols, ldb, b_bf16, to_bits);
  multiply_bf16(trans_a, trans_b, m, n, k, alpha, ha, a_cols, hb, b_cols, beta, c, ldc);
}

void count_gemm(int64_t m, int64_t n, int64_t k) {
  if (kernel_stats_enabled()) kernel_stats().gemm_flops += 2.0 * static_cast<double>(m) * n * k;
}
}  // namespace

void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
          const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  if (m == 0 || n == 0) return;
  KernelTimer timer(&KernelStats::gemm_seconds);
  count_gemm(m, n, k);
  if (gemm_precision() == Precision::kBf16) {
    gemm_rounding_to_bf16(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    return;
  }
  sgemm_in_chunks(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void gemm_bf16(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const uint16_t* a, int64_t lda,
               const uint16_t* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  if (m == 0 || n == 0) return;
  KernelTimer timer(&KernelStats::gemm_seconds);
  count_gemm(m, n, k);
  multiply_bf16(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void gemm_bf16(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const uint16_t* a,
               const uint16_t* b, float beta, float* c) {
  gemm_bf16(trans_a, trans_b, m, n, k, alpha, a, trans_a ? m : k, b, trans_b ? k : n, beta, c, n);
}

void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, const float* b,
          float beta, float* c) {
  gemm(trans_a, trans_b, m, n, k, alpha, a, trans_a ? m : k, b, trans_b ? k : n, beta, c, n);
}

std::ostream& operator<<(std::ostream& out, Precision value) {
  return out << enum_name(std::span<const EnumName<Precision>>(kPrecisionNames), value);
}

std::istream& operator>>(std::istream& in, Precision& value) {
  std::string name;
  if (in >> name) value = parse_enum(std::span<const EnumName<Precision>>(kPrecisionNames), name, "precision");
  return in;
}

void set_gemm_precision(Precision precision) { current_precision().store(precision, std::memory_order_relaxed); }

Precision gemm_precision() { return current_precision().load(std::memory_order_relaxed); }

GemmPrecisionScope::GemmPrecisionScope(Precision precision) : saved_(gemm_precision()) {
  set_gemm_precision(precision);
}

GemmPrecisionScope::~GemmPrecisionScope() { set_gemm_precision(saved_); }

void set_threads(int threads) {
  // What OpenBLAS read when it loaded (OPENBLAS_NUM_THREADS, else all cores), taken before the
  // first call below sets it to one.
  static const int loaded_with = openblas_get_num_threads();
  const int count = threads > 0 ? threads : loaded_with;
  // Every BLAS call is single-threaded: the compute pool splits the large ones (see gemm()), so
  // OpenBLAS's own workers never run, and never spin against the pool.
  openblas_set_num_threads(1);
  set_compute_threads(count);
}

}  // namespace shardnet
