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
  CpuScheduleParams params;
  params.vectorLanes = target.vectorBytes / 4;
  // 32 zmm registers (AVX-512): 8 rows x 2 vectors = 16 accumulators + loads/broadcasts.
  // 16 ymm registers (AVX2): 6 rows x 2 vectors = 12 accumulators.
  params.gemmRows = params.vectorLanes >= 16 ? 8 : 6;
  params.gemmVectors = 2;
  params.convChannels = params.vectorLanes >= 16 ? 8 : 6;
  // Two vectors of output pixels per register tile where rows are wide enough (8 channels x
  // 2 vectors = 16 accumulators on AVX-512).
  params.convVectors = params.vectorLanes >= 16 ? 2 : 1;
  scheduleCpuKernel(algorithm, params);
}

} // namespace kiln
