#include "core/onednn_runtime.h"

// libgomp's, the OpenMP runtime Debian's oneDNN runs on (its omp.h belongs to GCC, not to clang).
extern "C" void omp_set_num_threads(int threads);

namespace shardnet {

const dnnl::engine& onednn_engine() {
  static const dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

dnnl::stream& onednn_stream() {
  thread_local dnnl::stream stream = [] {
    omp_set_num_threads(1);  // this thread's setting only
    return dnnl::stream(onednn_engine());
  }();
  return stream;
}

unsigned char* onednn_scratchpad(size_t bytes) {
  thread_local std::vector<unsigned char> scratchpad;
  if (scratchpad.size() < bytes) scratchpad.resize(bytes);
  return scratchpad.data();
}

}  // namespace shardnet
