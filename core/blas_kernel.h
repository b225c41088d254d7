#pragma once
// Which OpenBLAS kernel runs, and making sure it is the best one this CPU supports.
//
// Debian's OpenBLAS is built with DYNAMIC_ARCH: when it loads, it picks a kernel ("core") from the
// CPU's family and model numbers. On a CPU model newer than its tables (0.3.21 on some Sapphire
// Rapids hosts) it falls back to a generic SSE3 kernel ("Prescott") that runs sgemm 5x slower. The
// choice is made before main() and cannot be changed in a running process, so a fallback is fixed by
// re-executing the program with OPENBLAS_CORETYPE set to the kernel the CPU's features call for.
#include <optional>
#include <string>
#include <string_view>

namespace shardnet {

// Instruction sets that decide the GEMM kernel (cpuid, with the OS's support for the registers).
struct CpuFeatures {
  bool avx = false;
  bool avx2 = false;
  bool fma = false;
  bool avx512f = false;
  bool avx512bw = false;
  bool avx512vl = false;
  bool avx512dq = false;
  bool avx512bf16 = false;
  bool amd = false;
};
CpuFeatures detect_cpu_features();

// The vector width a kernel (or a CPU) computes with, lowest first.
enum class KernelLevel { kGeneric, kAvx, kAvx2, kAvx512 };
KernelLevel kernel_level(std::string_view openblas_corename);  // case-insensitive, unknown = generic
KernelLevel cpu_level(const CpuFeatures& cpu);

// The OPENBLAS_CORETYPE this CPU should run: SkylakeX (Cooperlake with AVX512-BF16), Haswell or
// Zen, Sandybridge; nullopt where only a generic kernel fits.
std::optional<std::string> best_coretype(const CpuFeatures& cpu);

// What to do at start-up, given what OpenBLAS chose and whether OPENBLAS_CORETYPE was preset.
struct KernelDecision {
  enum class Action {
    kKeep,        // the chosen kernel matches the CPU
    kKeepPreset,  // OPENBLAS_CORETYPE was set by the user: respected as it is
    kSelect,      // a fallback: restart with OPENBLAS_CORETYPE = coretype
  };
  Action action = Action::kKeep;
  std::string coretype;
};
KernelDecision decide_kernel(std::string_view chosen_corename, const CpuFeatures& cpu, bool coretype_preset);

// The running library: "OpenBLAS 0.3.21 ... SkylakeX", the kernel's name and the thread count.
struct BlasInfo {
  std::string config;    // openblas_get_config()
  std::string corename;  // openblas_get_corename()
  int threads = 1;       // the compute threads that run single-threaded BLAS calls side by side
};
BlasInfo blas_info();
// "OpenBLAS 0.3.21, kernel SkylakeX, 2 threads" for run headers, followed by what
// ensure_best_blas_kernel() said (" (OPENBLAS_CORETYPE=Haswell is set: kept ...)") when it said anything.
std::string describe_blas();

// A small sgemm against a double-precision loop: false when the kernel computes wrong results.
bool sgemm_self_check();

// Call first in main(), before anything else runs: when OpenBLAS fell back to a kernel below what
// the CPU supports and OPENBLAS_CORETYPE is unset, re-executes the program (same pid, so mpirun and
// srun still see their rank) with the right one and checks it with sgemm_self_check(). The one line
// that says what happened (none when nothing needed saying) goes into describe_blas(), which the run
// headers of train and time print: never stderr, whose one line is an error's. The variable is
// removed again after the restart, so every process started later (ranks on other hosts too) decides
// for its own CPU. The test hook SHARDNET_TEST_BLAS_CORENAME pretends OpenBLAS chose that kernel.
void ensure_best_blas_kernel(char** argv);

}  // namespace shardnet
