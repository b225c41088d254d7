#include "core/tensor.h"

#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <new>
#include <sstream>

namespace shardnet {

int64_t shape_numel(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0) throw SizeError("shape " + shape_string(shape) + " has a negative size");
    if (d != 0 && n > kMaxElements / d)
      throw SizeError("shape " + shape_string(shape) + " has more than 2^40 elements");
    n *= d;
  }
  return n;
}

std::string shape_string(const Shape& shape) {
  std::ostringstream out;
  out << '(';
  for (size_t i = 0; i < shape.size(); ++i) out << (i ? ", " : "") << shape[i];
  out << ')';
  return out.str();
}

int64_t physical_memory_bytes() {
  static const int64_t bytes = [] {
    const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
    return pages > 0 && page > 0 ? static_cast<int64_t>(pages) * page : int64_t{1} << 40;
  }();
  return bytes;
}

namespace {
constexpr size_t kAlign = 64;  // for the GEMM kernels
}  // namespace

// Storage comes from calloc (large blocks are fresh zero pages the kernel commits as they are
// written), aligned by hand; the pointer calloc returned sits just before the aligned one.
void Tensor::FreeDeleter::operator()(float* p) const {
  if (p != nullptr) std::free(reinterpret_cast<void**>(p)[-1]);
}

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
  const int64_t n = shape_numel(shape);
  if (n > capacity_) {
    const int64_t bytes = n * static_cast<int64_t>(sizeof(float));
    if (bytes > physical_memory_bytes()) {
      throw SizeError("a tensor of shape " + shape_string(shape) + " needs " + std::to_string(bytes >> 20) +
                      " MiB, more than this machine's " + std::to_string(physical_memory_bytes() >> 20) +
                      " MiB of memory");
    }
    const size_t size = static_cast<size_t>(bytes);
    void* raw = std::calloc(size + kAlign + sizeof(void*), 1);
    if (raw == nullptr) throw std::bad_alloc();
    void* aligned = static_cast<char*>(raw) + sizeof(void*);  // room for the pointer to free
    size_t space = size + kAlign;
    std::align(kAlign, size, aligned, space);
    auto* p = static_cast<float*>(aligned);
    reinterpret_cast<void**>(p)[-1] = raw;
    data_.reset(p);
    capacity_ = n;
  }
  shape_ = shape;
  numel_ = n;
}

void Tensor::fill(float value) { std::fill_n(data(), numel_, value); }

}  // namespace shardnet
