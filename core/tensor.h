#pragma once
// A contiguous float32 N-dimensional array. Storage is 64-byte aligned for the GEMM kernels and is
// only reallocated when a reshape needs more room than it has, so buffers sized once stay put.
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace shardnet {

using Shape = std::vector<int64_t>;

// A shape with a negative size or more elements than any machine holds (2^40): thrown instead of
// letting the element count wrap (and an allocation come out tiny).
class SizeError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};
constexpr int64_t kMaxElements = int64_t{1} << 40;

// Bytes of RAM (sysconf): no tensor, and no model at build time, may need more.
int64_t physical_memory_bytes();

// The element count; throws SizeError past kMaxElements or for a negative size.
int64_t shape_numel(const Shape& shape);
std::string shape_string(const Shape& shape);  // "(64, 1, 28, 28)"

class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(const Shape& shape);
  Tensor(std::initializer_list<int64_t> shape) : Tensor(Shape(shape)) {}
  Tensor(const Tensor& other);
  Tensor& operator=(const Tensor& other);
  Tensor(Tensor&&) noexcept = default;
  Tensor& operator=(Tensor&&) noexcept = default;

  // Sets a new shape; keeps the storage (and its contents) when it is large enough, else takes new,
  // zero-filled storage. Throws SizeError for a shape larger than the machine's memory.
  void reshape(const Shape& shape);

  const Shape& shape() const { return shape_; }
  int64_t dim(size_t i) const { return shape_[i]; }
  size_t rank() const { return shape_.size(); }
  int64_t numel() const { return numel_; }
  // Rows = first dimension; row_size = elements per row.
  int64_t rows() const { return shape_.empty() ? 0 : shape_[0]; }
  int64_t row_size() const { return rows() == 0 ? 0 : numel_ / rows(); }

  float* data() { return data_.get(); }
  const float* data() const { return data_.get(); }
  std::span<float> span() { return {data_.get(), static_cast<size_t>(numel_)}; }
  std::span<const float> span() const { return {data_.get(), static_cast<size_t>(numel_)}; }
  float& operator[](int64_t i) { return data_[i]; }
  float operator[](int64_t i) const { return data_[i]; }

  void fill(float value);
  void zero() { fill(0.0f); }

 private:
  struct FreeDeleter {
    void operator()(float* p) const;
  };
  Shape shape_;
  int64_t numel_ = 0;
  int64_t capacity_ = 0;
  std::unique_ptr<float[], FreeDeleter> data_;
};

}  // namespace shardnet
