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

template <class T>
void ExactSum::add_values(std::span<const T> values, size_t offset) {
  if (offset + values.size() > size_) throw std::out_of_range("ExactSum::add: values past the end");
  if (top_ == kNonFinite) return;
  double largest = 0.0;
  for (T v : values) {
    const double d = static_cast<double>(v);
    if ((std::bit_cast<uint64_t>(d) & kExponentMask) == kExponentMask) {  // NaN or infinity
      align_to(kNonFinite);
      return;
    }
    largest = std::max(largest, std::fabs(d));
  }
  if (largest == 0.0) return;
  align_to(bin_of(largest));
  const int lsb = lsb_exponent(top_);
  int64_t* h = hi() + offset;
  int64_t* l = lo() + offset;
  for (size_t i = 0; i < values.size(); ++i) {
    const uint64_t bits = std::bit_cast<uint64_t>(static_cast<double>(values[i]));
    const uint64_t exponent = (bits & kExponentMask) >> 52;
    const uint64_t fraction = bits & ((uint64_t{1} << 52) - 1);
    // |v| = mantissa * 2^power exactly.
    const uint64_t mantissa = exponent == 0 ? fraction : fraction | (uint64_t{1} << 52);
    const int power = exponent == 0 ? -1074 : static_cast<int>(exponent) - 1075;
    const int shift = power - lsb;  // at most 11: |v| < 2^(lsb + 64)
    uint64_t magnitude;
    if (shift >= 0)
      magnitude = mantissa << shift;
    else
      magnitude = shift <= -64 ? 0 : mantissa >> -shift;
    const int64_t high = static_cast<int64_t>(magnitude >> kBinBits);
    const int64_t low = static_cast<int64_t>(magnitude & kLowMask);
    if (bits >> 63) {
      h[i] -= high;
      l[i] -= low;
    } else {
      h[i] += high;
      l[i] += low;
    }
  }
}

// The float path (every gradient) without branches, so that it vectorises: the largest magnitude
// from the bit patterns (for floats, ordered as the magnitudes; NaN and infinity above all finite
// ones), then each term's fixed-point magnitude by a shift left or right of its 24-bit mantissa.
void ExactSum::add(std::span<const float> values, size_t offset) {
  if (offset + values.size() > size_) throw std::out_of_range("ExactSum::add: values past the end");
  if (top_ == kNonFinite) return;
  const float* v = values.data();
  const size_t n = values.size();
  uint32_t largest = 0;
  for (size_t i = 0; i < n; ++i) largest = std::max(largest, std::bit_cast<uint32_t>(v[i]) & 0x7fffffffu);
  if (largest >= 0x7f800000u) {
    align_to(kNonFinite);
    return;
  }
  if (largest == 0) return;
  align_to(bin_of(static_cast<double>(std::bit_cast<float>(largest))));
  const int lsb = lsb_exponent(top_);
  int64_t* __restrict h = hi() + offset;
  int64_t* __restrict l = lo() + offset;
  for (size_t i = 0; i < n; ++i) {
    const uint32_t b = std::bit_cast<uint32_t>(v[i]);
    const uint32_t exponent = (b >> 23) & 0xffu;
    const uint64_t mantissa = (b & 0x7fffffu) | (exponent != 0 ? 0x800000u : 0u);
    // |v| = mantissa * 2^(max(exponent, 1) - 150); shifted to units of 2^lsb.
    const int64_t shift = static_cast<int64_t>(std::max<uint32_t>(exponent, 1u)) - 150 - lsb;
    const uint64_t left = static_cast<uint64_t>(std::max<int64_t>(shift, 0));
    const uint64_t right = static_cast<uint64_t>(std::min<int64_t>(std::max<int64_t>(-shift, 0), 63));
    const uint64_t magnitude = (mantissa << left) >> right;
    const int64_t negative = -static_cast<int64_t>(b >> 31);  // all ones for a negative term
    h[i] += (static_cast<int64_t>(magnitude >> kBinBits) ^ negative) - negative;
    l[i] += (static_cast<int64_t>(magnitude & kLowMask) ^ negative) - negative;
  }
}
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

double ExactSum::result(size_t i) const {
  assert(i < size_);
  if (top_ == kNonFinite) return std::numeric_limits<double>::quiet_NaN();
  if (top_ == kEmpty) return 0.0;
  // The canonical form high * 2^32 + low with low in [0, 2^32): a function of the sum alone, so
  // its rounding to double is too.
  const int64_t low = lo()[i];
  const int64_t high = hi()[i] + (low >> kBinBits);  // arithmetic shift: floor
  const double units = std::ldexp(static_cast<double>(high), kBinBits) + static_cast<double>(low & kLowMask);
  return std::ldexp(units, lsb_exponent(top_));
}

void ExactSum::result(std::span<double> out) const {
  if (out.size() != size_) throw std::invalid_argument("ExactSum::result: sizes differ");
  for (size_t i = 0; i < size_; ++i) out[i] = result(i);
}

void ExactSum::result(std::span<float> out) const {
  if (out.size() != size_) throw std::invalid_argument("ExactSum::result: sizes differ");
  for (size_t i = 0; i < size_; ++i) out[i] = static_cast<float>(result(i));
}

}  // namespace shardnet
