//===- GpuBackend.h - the GPU backends' shared half -----------------------===//
//
// CUDA, OpenCL and Metal share the GPU schedule templates (GpuSchedule.cpp) and the
// device runtime (runtime/src/device.c): Halide compiles each kernel's device code into
// the object (PTX, OpenCL C or Metal source) and its runtime drives the device. The
// backends differ in their target names, Halide features, driver library and packaging.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_TARGETS_GPU_GPUBACKEND_H
#define KILN_TARGETS_GPU_GPUBACKEND_H

#include "targets/TargetBackend.h"
#include "targets/common/KernelAlgorithm.h"

namespace kiln {

/// The heuristic plan: every stage a grid of thread blocks, decoded weights inline.
KernelPlan planGpuKernel(const KernelAlgorithm &algorithm);
/// Schedules the algorithm as the plan says; throws std::runtime_error when it does not fit.
void applyGpuPlan(KernelAlgorithm &algorithm, const KernelPlan &plan);

class GpuBackend : public TargetBackend {
public:
  LayoutOptions layoutOptions(const TargetInfo &) const override {
    LayoutOptions options;
    // Winograd's transforms and the interleaved integer kernels are CPU schedules; on a
    // GPU the direct forms run one output per thread.
    options.winograd = false;
    options.interleaveQuantized = false;
    options.arenaAlignment = 512;
    return options;
  }
  KernelPlan planKernel(const KernelAlgorithm &algorithm, const TargetInfo &) const override {
    KernelPlan plan = planGpuKernel(algorithm);
    plan.backend = family();
    return plan;
  }
  void applyPlan(KernelAlgorithm &algorithm, const KernelPlan &plan,
                 const TargetInfo &) const override {
    applyGpuPlan(algorithm, plan);
  }
};

const TargetBackend &cudaBackend();
const TargetBackend &openClBackend();
const TargetBackend &metalBackend();

} // namespace kiln

#endif
