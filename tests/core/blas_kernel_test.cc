#include "core/blas_kernel.h"

#include <gtest/gtest.h>

namespace shardnet {
namespace {

CpuFeatures avx512_cpu() {
  CpuFeatures cpu;
  cpu.avx = cpu.avx2 = cpu.fma = true;
  cpu.avx512f = cpu.avx512bw = cpu.avx512vl = cpu.avx512dq = true;
  return cpu;
}

CpuFeatures avx2_cpu(bool amd) {
  CpuFeatures cpu;
  cpu.avx = cpu.avx2 = cpu.fma = true;
  cpu.amd = amd;
  return cpu;
}

using Action = KernelDecision::Action;

TEST(BlasKernel, LevelsOfOpenBlasCoreNames) {
  EXPECT_EQ(kernel_level("Prescott"), KernelLevel::kGeneric);
  EXPECT_EQ(kernel_level("Core2"), KernelLevel::kGeneric);
  EXPECT_EQ(kernel_level("Nehalem"), KernelLevel::kGeneric);
  EXPECT_EQ(kernel_level("Sandybridge"), KernelLevel::kAvx);
  EXPECT_EQ(kernel_level("Haswell"), KernelLevel::kAvx2);
  EXPECT_EQ(kernel_level("ZEN"), KernelLevel::kAvx2);
  EXPECT_EQ(kernel_level("SkylakeX"), KernelLevel::kAvx512);
  EXPECT_EQ(kernel_level("cooperlake"), KernelLevel::kAvx512);
  EXPECT_EQ(kernel_level("SapphireRapids"), KernelLevel::kAvx512);
  EXPECT_EQ(kernel_level("something new"), KernelLevel::kGeneric);
}

TEST(BlasKernel, CpuLevelNeedsEveryAvx512SubsetTheKernelsUse) {
  EXPECT_EQ(cpu_level(avx512_cpu()), KernelLevel::kAvx512);
  CpuFeatures no_bw = avx512_cpu();
  no_bw.avx512bw = false;  // Knights Landing has F without BW: the SkylakeX kernels would fault
  EXPECT_EQ(cpu_level(no_bw), KernelLevel::kAvx2);
  CpuFeatures no_fma = avx2_cpu(false);
  no_fma.fma = false;
  EXPECT_EQ(cpu_level(no_fma), KernelLevel::kAvx);
  EXPECT_EQ(cpu_level(CpuFeatures{}), KernelLevel::kGeneric);
}

TEST(BlasKernel, GenericKernelOnAnAvx512CpuSelectsAnAvx512Kernel) {
  const KernelDecision d = decide_kernel("Prescott", avx512_cpu(), false);
  EXPECT_EQ(d.action, Action::kSelect);
  EXPECT_EQ(d.coretype, "SkylakeX");
  EXPECT_EQ(kernel_level(d.coretype), KernelLevel::kAvx512);
  CpuFeatures bf16 = avx512_cpu();
  bf16.avx512bf16 = true;
  EXPECT_EQ(decide_kernel("Prescott", bf16, false).coretype, "Cooperlake");
}

TEST(BlasKernel, FallbackOnAvx2CpusPicksTheVendorsKernel) {
  EXPECT_EQ(decide_kernel("Nehalem", avx2_cpu(false), false).coretype, "Haswell");
  EXPECT_EQ(decide_kernel("Prescott", avx2_cpu(true), false).coretype, "Zen");
  // An AVX-512 CPU on the AVX2 kernel is a fallback too (half the vector width).
  EXPECT_EQ(decide_kernel("Haswell", avx512_cpu(), false).action, Action::kSelect);
}

TEST(BlasKernel, MatchingKernelIsKept) {
  EXPECT_EQ(decide_kernel("SkylakeX", avx512_cpu(), false).action, Action::kKeep);
  EXPECT_EQ(decide_kernel("Cooperlake", avx512_cpu(), false).action, Action::kKeep);
  EXPECT_EQ(decide_kernel("Zen", avx2_cpu(true), false).action, Action::kKeep);
  // Nothing better exists for an SSE-only CPU.
  EXPECT_EQ(decide_kernel("Prescott", CpuFeatures{}, false).action, Action::kKeep);
}

TEST(BlasKernel, PresetCoretypeIsRespectedEvenWhenGeneric) {
  const KernelDecision d = decide_kernel("Prescott", avx512_cpu(), true);
  EXPECT_EQ(d.action, Action::kKeepPreset);
  EXPECT_EQ(d.coretype, "Prescott");
}

TEST(BlasKernel, RunningKernelPassesTheSelfCheck) { EXPECT_TRUE(sgemm_self_check()); }

TEST(BlasKernel, DescribesTheLibrary) {
  const std::string text = describe_blas();
  EXPECT_EQ(text.rfind("OpenBLAS ", 0), 0u) << text;
  EXPECT_NE(text.find("kernel " + blas_info().corename), std::string::npos) << text;
}

}  // namespace
}  // namespace shardnet
