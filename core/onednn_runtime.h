#pragma once
// What every oneDNN call of shardnet shares (core/bf16_matmul.cc, core/onednn_conv.cc): the CPU
// engine, and a stream per thread on which oneDNN's OpenMP pool is held at one thread, so that a
// call stays on the thread that makes it (the compute pool spreads the calls, as it does OpenBLAS's).
// Only the library's sources include this header (oneDNN is a private dependency).
#include <oneapi/dnnl/dnnl.hpp>
#include <vector>

namespace shardnet {

const dnnl::engine& onednn_engine();
// This thread's stream; its first use makes this thread's OpenMP calls single-threaded.
dnnl::stream& onednn_stream();
// This thread's scratchpad for primitives made with scratchpad_mode::user, at least `bytes` long.
unsigned char* onednn_scratchpad(size_t bytes);

}  // namespace shardnet
