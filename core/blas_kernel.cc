#include "core/blas_kernel.h"

#include <cblas.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "core/parallel.h"

extern "C" {
char* openblas_get_corename(void);
char* openblas_get_config(void);
}

namespace shardnet {
namespace {

// Set only for the restarted process: "<kernel OpenBLAS chose>:<kernel selected>", or
// "<kernel OpenBLAS chose>:rejected" after the selected kernel failed its self-check.
constexpr const char* kRestartVar = "SHARDNET_BLAS_RESTART";
constexpr const char* kCoretypeVar = "OPENBLAS_CORETYPE";
constexpr const char* kTestCorenameVar = "SHARDNET_TEST_BLAS_CORENAME";

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool same_name(std::string_view a, std::string_view b) { return lower(a) == lower(b); }

const char* level_name(KernelLevel level) {
  switch (level) {
    case KernelLevel::kAvx512:
      return "AVX-512";
    case KernelLevel::kAvx2:
      return "AVX2 and FMA";
    case KernelLevel::kAvx:
      return "AVX";
    case KernelLevel::kGeneric:
      break;
  }
  return "SSE only";
}

// What ensure_best_blas_kernel() found to say, for describe_blas().
std::string& kernel_note() {
  static std::string note;
  return note;
}

// Replaces this process with a fresh run of the same program and arguments; returns only on failure.
void restart(char** argv) { execv("/proc/self/exe", argv); }

}  // namespace

CpuFeatures detect_cpu_features() {
  __builtin_cpu_init();
  CpuFeatures cpu;
  // libgcc's checks include the OS's support (XCR0) for the AVX and AVX-512 registers.
  cpu.avx = __builtin_cpu_supports("avx");
  cpu.avx2 = __builtin_cpu_supports("avx2");
  cpu.fma = __builtin_cpu_supports("fma");
  cpu.avx512f = __builtin_cpu_supports("avx512f");
  cpu.avx512bw = __builtin_cpu_supports("avx512bw");
  cpu.avx512vl = __builtin_cpu_supports("avx512vl");
  cpu.avx512dq = __builtin_cpu_supports("avx512dq");
  cpu.avx512bf16 = __builtin_cpu_supports("avx512bf16");
  cpu.amd = __builtin_cpu_is("amd");
  return cpu;
}

KernelLevel kernel_level(std::string_view corename) {
  static const char* const avx512[] = {"skylakex", "cooperlake", "sapphirerapids"};
  static const char* const avx2[] = {"haswell", "zen", "dhyana", "excavator"};
  static const char* const avx[] = {"sandybridge", "bulldozer", "piledriver", "steamroller"};
  const std::string name = lower(corename);
  auto in = [&](const auto& names) { return std::find(std::begin(names), std::end(names), name) != std::end(names); };
  if (in(avx512)) return KernelLevel::kAvx512;
  if (in(avx2)) return KernelLevel::kAvx2;
  if (in(avx)) return KernelLevel::kAvx;
  return KernelLevel::kGeneric;
}

KernelLevel cpu_level(const CpuFeatures& cpu) {
  // OpenBLAS's SkylakeX kernels use the F, BW, VL and DQ subsets; its Haswell kernels AVX2 and FMA.
  if (cpu.avx512f && cpu.avx512bw && cpu.avx512vl && cpu.avx512dq && cpu.avx2 && cpu.fma) return KernelLevel::kAvx512;
  if (cpu.avx2 && cpu.fma) return KernelLevel::kAvx2;
  if (cpu.avx) return KernelLevel::kAvx;
  return KernelLevel::kGeneric;
}

std::optional<std::string> best_coretype(const CpuFeatures& cpu) {
  switch (cpu_level(cpu)) {
    case KernelLevel::kAvx512:
      return cpu.avx512bf16 ? "Cooperlake" : "SkylakeX";
    case KernelLevel::kAvx2:
      return cpu.amd ? "Zen" : "Haswell";
    case KernelLevel::kAvx:
      return "Sandybridge";
    case KernelLevel::kGeneric:
      break;
  }
  return std::nullopt;
}

KernelDecision decide_kernel(std::string_view chosen, const CpuFeatures& cpu, bool coretype_preset) {
  if (coretype_preset) return {KernelDecision::Action::kKeepPreset, std::string(chosen)};
  const auto best = best_coretype(cpu);
  if (!best || kernel_level(chosen) >= cpu_level(cpu)) return {KernelDecision::Action::kKeep, std::string(chosen)};
  return {KernelDecision::Action::kSelect, *best};
}

BlasInfo blas_info() {
  BlasInfo info;
  info.config = openblas_get_config();
  info.corename = openblas_get_corename();
  info.threads = compute_threads();
  return info;
}

std::string describe_blas() {
  const BlasInfo info = blas_info();
  // The config string starts with "OpenBLAS <version>".
  std::string library = info.config.substr(0, info.config.find(' ', info.config.find(' ') + 1));
  return library + ", kernel " + info.corename + ", " + std::to_string(info.threads) +
         (info.threads == 1 ? " thread" : " threads") + (kernel_note().empty() ? "" : " (" + kernel_note() + ")");
}

bool sgemm_self_check() {
  // Odd sizes exercise the kernels' edge paths as well as their main loops.
  constexpr int m = 37, n = 45, k = 131;
  std::vector<float> a(m * k), b(k * n), c(m * n, 1.0f);
  for (int i = 0; i < m * k; ++i) a[i] = static_cast<float>((i * 7919) % 23) / 11.0f - 1.0f;
  for (int i = 0; i < k * n; ++i) b[i] = static_cast<float>((i * 104729) % 19) / 9.0f - 1.0f;
  for (int trans_b = 0; trans_b < 2; ++trans_b) {
    // C = 0.5 * A * op(B) + 2 * C, with C = 1 before: checks alpha, beta and both B layouts.
    std::fill(c.begin(), c.end(), 1.0f);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, m, n, k, 0.5f, a.data(), k, b.data(),
                trans_b ? k : n, 2.0f, c.data(), n);
    for (int i = 0; i < m; ++i) {
      for (int j = 0; j < n; ++j) {
        double sum = 0.0, magnitude = 0.0;
        for (int p = 0; p < k; ++p) {
          const double bv = trans_b ? b[j * k + p] : b[p * n + j];
          sum += static_cast<double>(a[i * k + p]) * bv;
          magnitude += std::fabs(static_cast<double>(a[i * k + p]) * bv);
        }
        const double expected = 0.5 * sum + 2.0;
        if (!(std::fabs(c[i * n + j] - expected) <= 1e-5 * (magnitude + 2.0))) return false;
      }
    }
  }
  return true;
}

namespace {
std::string decide_and_restart(char** argv) {
  if (const char* restart_note = std::getenv(kRestartVar)) {
    const std::string note = restart_note;
    unsetenv(kRestartVar);
    const std::string fallback = note.substr(0, note.find(':'));
    const std::string selected = note.substr(note.find(':') + 1);
    if (selected == "rejected") {
      return "kept OpenBLAS's own kernel " + blas_info().corename +
             " (the kernel selected for this CPU failed its sgemm self-check)";
    }
    // Ours, not the user's: processes started from here decide for their own CPU.
    unsetenv(kCoretypeVar);
    const std::string running = blas_info().corename;
    if (!same_name(running, selected) || !sgemm_self_check()) {
      setenv(kRestartVar, (fallback + ":rejected").c_str(), 1);
      restart(argv);
      return "kernel " + running + " failed its sgemm self-check and the restart failed (" + std::strerror(errno) + ")";
    }
    return "OpenBLAS chose the generic kernel " + fallback + " on a CPU with " +
           level_name(cpu_level(detect_cpu_features())) + "; selected " + running +
           " (OPENBLAS_CORETYPE), sgemm self-check passed";
  }
  const char* preset = std::getenv(kCoretypeVar);
  const char* pretend = std::getenv(kTestCorenameVar);
  const std::string chosen = pretend ? pretend : blas_info().corename;
  const KernelDecision decision = decide_kernel(chosen, detect_cpu_features(), preset != nullptr);
  switch (decision.action) {
    case KernelDecision::Action::kKeep:
      return "";
    case KernelDecision::Action::kKeepPreset:
      return std::string("OPENBLAS_CORETYPE=") + preset + " is set: kept (OpenBLAS runs " + blas_info().corename + ")";
    case KernelDecision::Action::kSelect:
      break;
  }
  setenv(kCoretypeVar, decision.coretype.c_str(), 1);
  setenv(kRestartVar, (chosen + ":" + decision.coretype).c_str(), 1);
  restart(argv);
  unsetenv(kCoretypeVar);
  unsetenv(kRestartVar);
  return "OpenBLAS chose the generic kernel " + chosen + "; restarting with OPENBLAS_CORETYPE=" + decision.coretype +
         " failed (" + std::strerror(errno) + ")";
}

}  // namespace

void ensure_best_blas_kernel(char** argv) { kernel_note() = decide_and_restart(argv); }

}  // namespace shardnet
