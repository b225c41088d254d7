#pragma once
// The machine's per-core L2 cache, read at run time (blocking sizes follow it instead of assuming one).
#include <cstdint>

namespace shardnet {

// Bytes of L2 cache per core: glibc's sysconf (cpuid), else sysfs, else 1 MiB.
int64_t l2_cache_bytes();

}  // namespace shardnet
