#include "core/float_mode.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define SHARDNET_HAS_MXCSR 1
#endif

namespace shardnet {

#ifdef SHARDNET_HAS_MXCSR
namespace {
constexpr unsigned kFlushToZero = 0x8000;       // MXCSR.FTZ
constexpr unsigned kDenormalsAreZero = 0x0040;  // MXCSR.DAZ
}  // namespace

void flush_denormals_on_this_thread() { _mm_setcsr(_mm_getcsr() | kFlushToZero | kDenormalsAreZero); }

bool denormals_flushed_on_this_thread() {
  const unsigned both = kFlushToZero | kDenormalsAreZero;
  return (_mm_getcsr() & both) == both;
}
#else
void flush_denormals_on_this_thread() {}
bool denormals_flushed_on_this_thread() { return false; }
#endif

#ifdef SHARDNET_PREINIT_DENORMALS
namespace {
// Runs before the initialisers of the shared libraries (OpenBLAS starts its threads in one), in an
// executable this object is linked into. Only a static library can carry it: the linker refuses
// a preinit entry in a shared object.
void flush_denormals_at_load(int, char**, char**) { flush_denormals_on_this_thread(); }
}  // namespace
#endif

}  // namespace shardnet

#ifdef SHARDNET_PREINIT_DENORMALS
__attribute__((section(".preinit_array"),
               used)) static void (*shardnet_flush_denormals_at_load)(int, char**,
                                                                      char**) = shardnet::flush_denormals_at_load;
#endif
