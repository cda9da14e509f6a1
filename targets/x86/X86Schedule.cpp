//===- X86Schedule.cpp - schedules for x86-64 (AVX2, AVX-512) -------------===//
//
// x86 uses the shared CPU templates with the target's vector width: 8 float32 lanes for
// AVX2, 16 for AVX-512. Kernel-class-specific tuning (register-blocked GEMM/conv,
// Winograd) lands here.
//
//===----------------------------------------------------------------------===//
#include "targets/common/KernelAlgorithm.h"
#include "targets/Targets.h"

namespace kiln {

void scheduleX86Kernel(KernelAlgorithm &algorithm, const TargetInfo &target) {
  scheduleCpuKernel(algorithm, target.vectorBytes / 4, /*parallel=*/true);
}

} // namespace kiln
