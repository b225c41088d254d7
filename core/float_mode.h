#pragma once
// Denormal floats flushed to zero (x86 MXCSR: FTZ for results, DAZ for inputs).
//
// Arithmetic on denormals is microcoded on x86 and up to 100x slower; late in training, Adam's
// second moments and small gradients fall into that range and the optimizer's step slowed 3x.
// Every thread that computes runs with both flags: the program's main thread sets them before any
// shared library's initialiser runs (an ELF preinit entry in this file; shardnet_core is a static
// library, the only kind that can carry one), so the threads OpenBLAS
// starts when it loads, and every thread started later, inherit them (POSIX: a new thread takes
// its creator's floating-point environment). Threads shardnet starts also set them themselves.
namespace shardnet {

void flush_denormals_on_this_thread();
bool denormals_flushed_on_this_thread();

}  // namespace shardnet
