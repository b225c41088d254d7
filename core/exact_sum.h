#pragma once
// Order-independent sums of floating-point vectors, for exact mode (train --exact).
//
// A float sum depends on the order of its terms; a sum over ranks and grains therefore depends on
// the rank count. ExactSum makes the order irrelevant: every term is cut at bin boundaries that do
// not depend on the data seen so far, each piece is added as an integer, and integer addition is
// associative. Per vector (one parameter's gradient, say) the sum keeps two 32-bit bins, the top
// bin T, which holds the largest term's leading bit, and the bin below it: 32 to 64 bits below the
// largest magnitude, more than a float's 24. A term's bits below those 64 are dropped (truncated
// toward zero), the same bits whatever the order, so the result is a function of the set of terms
// alone: sum_i trunc(v_i / 2^L) * 2^L, with L fixed by the largest term.
//
// When a larger term arrives the bins move up: the old top bin becomes the lower one and the old
// lower bin is dropped. Because each term's bins hold the term's own truncated pieces (with the
// term's sign, never a borrow), the moved sum equals what the terms would have given had the
// larger one come first. Sums of two ExactSums, from other grains or other ranks, align the same
// way, which is what makes the MPI sum (align to the MAX of the tops, then MPI_SUM of the 64-bit
// limbs) exact too. Each limb takes up to 2^31 terms before it could overflow.
//
// Underflow: terms more than 64 bits below the largest are dropped (a float gradient's smallest
// normal value is 2^-126; a float has 24 bits). Overflow cannot happen in range: a double's
// exponent always has a bin. A non-finite term makes the whole vector's result NaN (training
// diverged), on every rank.
#include <cstdint>
#include <span>
#include <vector>

namespace shardnet {

class ExactSum {
 public:
  // The top of a sum with no non-zero term yet, and of one that saw a NaN or infinity (the MAX
  // over ranks spreads it).
  static constexpr int32_t kEmpty = -1;
  static constexpr int32_t kNonFinite = 1 << 20;

  ExactSum() = default;
  explicit ExactSum(size_t size) { resize(size); }
  // Sets the size and clears it.
  void resize(size_t size);
  void clear();
  size_t size() const { return size_; }

  // Adds values[i] to element offset + i.
  void add(std::span<const float> values, size_t offset = 0);
  void add(std::span<const double> values, size_t offset = 0);
  // Adds another sum of the same size element-wise.
  void add(const ExactSum& other);

  // The sums rounded to the nearest double (then to float); NaN after a non-finite term.
  void result(std::span<double> out) const;
  void result(std::span<float> out) const;
  double result(size_t i) const;

  // For the sum over ranks: the top bin, moving the bins up to a (not smaller) top, and the limbs
  // (size() high ones, then size() low ones) to be summed as 64-bit integers.
  int32_t top() const { return top_; }
  void align_to(int32_t top);
  std::span<int64_t> limbs() { return limbs_; }
  std::span<int64_t> high_limbs() { return {hi(), size_}; }
  std::span<int64_t> low_limbs() { return {lo(), size_}; }
  // What result() gives for limbs with this top that were summed elsewhere (one rank's block of
  // the elements, in the sum over ranks).
  static void round_limbs(int32_t top, std::span<const int64_t> high, std::span<const int64_t> low,
                          std::span<float> out);

 private:
  template <class T>
  void add_values(std::span<const T> values, size_t offset);
  template <class T>
  static void write_results(int32_t top, const int64_t* high, const int64_t* low, std::span<T> out);
  int64_t* hi() { return limbs_.data(); }
  int64_t* lo() { return limbs_.data() + size_; }
  const int64_t* hi() const { return limbs_.data(); }
  const int64_t* lo() const { return limbs_.data() + size_; }

  int32_t top_ = kEmpty;
  size_t size_ = 0;
  std::vector<int64_t> limbs_;  // [hi_0 .. hi_{n-1}, lo_0 .. lo_{n-1}]
};

}  // namespace shardnet
