#include "core/tensor.h"

#include <algorithm>
#include <cassert>
#include <cstdlib>
#include <new>
#include <sstream>

namespace shardnet {

int64_t shape_numel(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::string shape_string(const Shape& shape) {
  std::ostringstream out;
  out << '(';
  for (size_t i = 0; i < shape.size(); ++i) out << (i ? ", " : "") << shape[i];
  out << ')';
  return out.str();
}

void Tensor::FreeDeleter::operator()(float* p) const { std::free(p); }

Tensor::Tensor(const Shape& shape) { reshape(shape); }

Tensor::Tensor(const Tensor& other) { *this = other; }

Tensor& Tensor::operator=(const Tensor& other) {
  if (this == &other) return *this;
  if (other.data_ == nullptr) {  // a default-constructed tensor: no shape, no storage
    shape_.clear();
    numel_ = 0;
    return *this;
  }
  reshape(other.shape_);
  std::copy_n(other.data(), numel_, data());
  return *this;
}

void Tensor::reshape(const Shape& shape) {
  assert(std::all_of(shape.begin(), shape.end(), [](int64_t d) { return d >= 0; }));
  const int64_t n = shape_numel(shape);
  if (n > capacity_) {
    constexpr size_t kAlign = 64;
    const size_t bytes = (static_cast<size_t>(n) * sizeof(float) + kAlign - 1) / kAlign * kAlign;
    auto* p = static_cast<float*>(std::aligned_alloc(kAlign, bytes));
    if (p == nullptr) throw std::bad_alloc();
    data_.reset(p);
    capacity_ = n;
  }
  shape_ = shape;
  numel_ = n;
}

void Tensor::fill(float value) { std::fill_n(data(), numel_, value); }

}  // namespace shardnet
