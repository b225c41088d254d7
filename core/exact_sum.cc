#include "core/exact_sum.h"

#include <algorithm>
#include <bit>
#include <cassert>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace shardnet {
namespace {
constexpr int kBinBits = 32;
// Puts every double's exponent (down to 2^-1074) in a bin >= 0: bin b holds magnitudes
// [2^(32 b - kBias), 2^(32 b - kBias + 32)).
constexpr int kBias = 1088;
constexpr uint64_t kLowMask = (uint64_t{1} << kBinBits) - 1;
constexpr uint64_t kExponentMask = uint64_t{0x7ff} << 52;

int32_t bin_of(double magnitude) {
  const int e = std::ilogb(magnitude);
  return static_cast<int32_t>((e + kBias) / kBinBits);
}
// The exponent of one unit of the low limb when the top bin is `top`.
int lsb_exponent(int32_t top) { return kBinBits * top - kBias - kBinBits; }
}  // namespace

void ExactSum::resize(size_t size) {
  size_ = size;
  limbs_.assign(2 * size, 0);
  top_ = kEmpty;
}

void ExactSum::clear() {
  std::fill(limbs_.begin(), limbs_.end(), 0);
  top_ = kEmpty;
}

void ExactSum::align_to(int32_t top) {
  if (top <= top_ || top_ == kNonFinite) return;
  if (top == kNonFinite || top_ == kEmpty) {
    top_ = top;
    return;
  }
  // Every term's high piece is its own truncation at the new low limb's unit, so the old high
  // limb is the new low limb; the old low pieces fall below the new bins.
  if (top - top_ == 1) {
    std::copy_n(hi(), size_, lo());
    std::fill_n(hi(), size_, 0);
  } else {
    clear();
  }
  top_ = top;
}

namespace {
// The largest magnitude's bit pattern (for IEEE floats ordered as the magnitudes; NaN and infinity
// above every finite value) and the pattern where non-finite values start.
uint64_t largest_bits(std::span<const float> values, uint64_t& non_finite) {
  non_finite = 0x7f800000u;
  uint32_t largest = 0;
  for (float v : values) largest = std::max(largest, std::bit_cast<uint32_t>(v) & 0x7fffffffu);
  return largest;
}
uint64_t largest_bits(std::span<const double> values, uint64_t& non_finite) {
  non_finite = kExponentMask;
  uint64_t largest = 0;
  for (double v : values) largest = std::max(largest, std::bit_cast<uint64_t>(v) & ~(uint64_t{1} << 63));
  return largest;
}
double from_bits(uint64_t bits, const float*) { return std::bit_cast<float>(static_cast<uint32_t>(bits)); }
double from_bits(uint64_t bits, const double*) { return std::bit_cast<double>(bits); }
}  // namespace

// Each term's pieces: x = v / 2^(lsb + 32) is exact in double (a power-of-two scaling that stays
// in double's normal range for any float; for a double it can only underflow where both pieces are
// 0 anyway) with |x| < 2^32; the high piece is trunc(x), the low one trunc((x - trunc(x)) 2^32),
// both exact and with the term's sign. Written without branches, so that it vectorises.
template <class T>
void ExactSum::add_values(std::span<const T> values, size_t offset) {
  if (offset + values.size() > size_) throw std::out_of_range("ExactSum::add: values past the end");
  if (top_ == kNonFinite) return;
  uint64_t non_finite = 0;
  const uint64_t largest = largest_bits(values, non_finite);
  if (largest >= non_finite) {
    align_to(kNonFinite);
    return;
  }
  if (largest == 0) return;
  align_to(bin_of(from_bits(largest, values.data())));
  const double scale = std::ldexp(1.0, -(lsb_exponent(top_) + kBinBits));
  const T* v = values.data();
  int64_t* __restrict h = hi() + offset;
  int64_t* __restrict l = lo() + offset;
  for (size_t i = 0; i < values.size(); ++i) {
    const double x = static_cast<double>(v[i]) * scale;
    const int64_t high = static_cast<int64_t>(x);
    h[i] += high;
    l[i] += static_cast<int64_t>((x - static_cast<double>(high)) * 0x1p32);
  }
}

void ExactSum::add(std::span<const float> values, size_t offset) { add_values(values, offset); }
void ExactSum::add(std::span<const double> values, size_t offset) { add_values(values, offset); }

void ExactSum::add(const ExactSum& other) {
  if (other.size_ != size_) throw std::invalid_argument("ExactSum::add: sizes differ");
  if (other.top_ == kEmpty) return;
  align_to(other.top_);
  if (top_ == kNonFinite) return;
  const int32_t behind = top_ - other.top_;
  if (behind == 0) {
    for (size_t i = 0; i < 2 * size_; ++i) limbs_[i] += other.limbs_[i];
  } else if (behind == 1) {  // the other's high limb is at this low limb; its low one falls off
    for (size_t i = 0; i < size_; ++i) lo()[i] += other.hi()[i];
  }
}

namespace {
// The canonical form high * 2^32 + low with low in [0, 2^32) is a function of the sum alone, so its
// rounding to double is too; `unit` is 2^lsb (a power of two: multiplying by it rounds only where
// the result leaves double's normal range, and then the same way every time).
double units_to_double(int64_t high, int64_t low, double unit) {
  high += low >> kBinBits;  // arithmetic shift: floor
  return (static_cast<double>(high) * 0x1p32 + static_cast<double>(static_cast<uint64_t>(low) & kLowMask)) * unit;
}

// 2^lsb as two factors: the low limb's unit can be below double's range (a sum of tiny terms only),
// so 2^-600 at most first and the rest after, each exact or rounding the same way every time.
struct Scale {
  double unit, rest;
  explicit Scale(int lsb) : unit(std::ldexp(1.0, std::max(lsb, -600))), rest(std::ldexp(1.0, std::min(lsb + 600, 0))) {}
};
}  // namespace

double ExactSum::result(size_t i) const {
  assert(i < size_);
  if (top_ == kNonFinite) return std::numeric_limits<double>::quiet_NaN();
  if (top_ == kEmpty) return 0.0;
  const Scale scale(lsb_exponent(top_));
  return units_to_double(hi()[i], lo()[i], scale.unit) * scale.rest;
}

template <class T>
void ExactSum::write_results(int32_t top, const int64_t* high, const int64_t* low, std::span<T> out) {
  if (top == kNonFinite || top == kEmpty) {
    std::fill(out.begin(), out.end(), top == kEmpty ? T(0) : std::numeric_limits<T>::quiet_NaN());
    return;
  }
  const Scale scale(lsb_exponent(top));
  for (size_t i = 0; i < out.size(); ++i) {
    out[i] = static_cast<T>(units_to_double(high[i], low[i], scale.unit) * scale.rest);
  }
}

void ExactSum::result(std::span<double> out) const {
  if (out.size() != size_) throw std::invalid_argument("ExactSum::result: sizes differ");
  write_results(top_, hi(), lo(), out);
}

void ExactSum::result(std::span<float> out) const {
  if (out.size() != size_) throw std::invalid_argument("ExactSum::result: sizes differ");
  write_results(top_, hi(), lo(), out);
}

void ExactSum::round_limbs(int32_t top, std::span<const int64_t> high, std::span<const int64_t> low,
                           std::span<float> out) {
  if (high.size() != out.size() || low.size() != out.size())
    throw std::invalid_argument("ExactSum::round_limbs: sizes differ");
  write_results(top, high.data(), low.data(), out);
}

}  // namespace shardnet
