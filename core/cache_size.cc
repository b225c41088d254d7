#include "core/cache_size.h"

#include <unistd.h>

#include <fstream>
#include <string>

namespace shardnet {
namespace {

int64_t read_l2_cache_bytes() {
#ifdef _SC_LEVEL2_CACHE_SIZE
  const long from_sysconf = sysconf(_SC_LEVEL2_CACHE_SIZE);
  if (from_sysconf > 0) return from_sysconf;
#endif
  // sysfs writes "2048K"; index2 is the unified L2 on x86 and most ARM cores.
  std::ifstream in("/sys/devices/system/cpu/cpu0/cache/index2/size");
  std::string text;
  if (in >> text && !text.empty()) {
    try {
      int64_t value = std::stoll(text);
      if (text.back() == 'K') value <<= 10;
      if (text.back() == 'M') value <<= 20;
      if (value > 0) return value;
    } catch (const std::exception&) {
    }
  }
  return int64_t{1} << 20;
}

}  // namespace

int64_t l2_cache_bytes() {
  static const int64_t bytes = read_l2_cache_bytes();
  return bytes;
}

}  // namespace shardnet
