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
  CpuScheduleParams params;
  params.vectorLanes = target.vectorBytes / 4;
  // 32 NEON q registers: 8 rows x 2 vectors of 4 floats = 16 accumulators.
  params.gemmRows = 8;
  params.gemmVectors = 2;
  params.convChannels = 8;
  params.convVectors = 2;
  scheduleCpuKernel(algorithm, params);
}

} // namespace kiln
