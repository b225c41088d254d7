#pragma once
// What every fuzz target shares: the errors the project promises for bad input (a runtime_error or
// invalid_argument subclass with a message) are expected; anything else escaping (bad_alloc,
// out_of_range, a logic_error) or a sanitizer report is a finding. A reader of the fuzzer's bytes
// for the targets that build their input (files written through the HDF5 API) from them.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>

namespace shardnet::fuzz {

template <typename F>
void expect_clean_errors(F&& body) {
  try {
    body();
  } catch (const std::runtime_error&) {
  } catch (const std::invalid_argument&) {
  }
}

// Consumes the fuzzer's bytes as small integers; zeros once they run out.
class Bytes {
 public:
  Bytes(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  uint8_t byte() { return at_ < size_ ? data_[at_++] : 0; }
  uint32_t below(uint32_t n) { return n == 0 ? 0 : static_cast<uint32_t>(word() % n); }
  uint64_t word() {
    uint64_t v = 0;
    for (int i = 0; i < 4; ++i) v = (v << 8) | byte();
    return v;
  }
  float number() {
    uint32_t bits = static_cast<uint32_t>(word());
    float f;
    std::memcpy(&f, &bits, sizeof f);
    return f;
  }
  bool flag() { return byte() & 1; }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t at_ = 0;
};

// A scratch file per process (libFuzzer may run several jobs).
inline std::string scratch_path(const char* what) {
  return "/tmp/shardnet-fuzz-" + std::to_string(getpid()) + "-" + what;
}

inline void write_file(const std::string& path, const uint8_t* data, size_t size) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return;
  std::fwrite(data, 1, size, f);
  std::fclose(f);
}

}  // namespace shardnet::fuzz
