//===- ArmSchedule.cpp - schedules for AArch64 (NEON) ---------------------===//
//
// AArch64 uses the shared CPU templates with NEON's 4 float32 lanes; the dot-product
// extension matters for the quantized kernels, not these float ones.
//
//===----------------------------------------------------------------------===//
#include "targets/common/KernelAlgorithm.h"
#include "targets/Targets.h"

namespace kiln {

void scheduleArmKernel(KernelAlgorithm &algorithm, const TargetInfo &target) {
  scheduleCpuKernel(algorithm, target.vectorBytes / 4, /*parallel=*/true);
}

} // namespace kiln
