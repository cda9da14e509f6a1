//===- CpuBackend.h - the CPU backends' shared half -----------------------===//
//
// x86 and AArch64 share one set of schedule templates (CpuSchedule.cpp) and differ in
// their register budgets (CpuRegisterTiles) and integer dot-product form. A CPU backend
// plans a kernel with the templates' heuristics and applies a plan by calling the
// templates with the plan's knobs.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_TARGETS_CPU_CPUBACKEND_H
#define KILN_TARGETS_CPU_CPUBACKEND_H

#include "targets/TargetBackend.h"
#include "targets/common/KernelAlgorithm.h"

namespace kiln {

/// Register-blocking budget of a CPU family (float32 lanes, register tile sizes).
struct CpuRegisterTiles {
  int vectorLanes = 8;
  int gemmRows = 8;      // output rows per register tile (GEMM)
  int gemmVectors = 2;   // vectors of output columns per register tile (GEMM)
  int convChannels = 8;  // output channels per register tile (direct convolution)
  int convVectors = 1;   // vectors of output pixels per register tile
  /// RAM over speed (microcontrollers): depthwise convolutions border their input one
  /// channel plane at a time however narrow it is, not as a whole copy.
  bool smallScratch = false;
};

/// The heuristic plan: which template schedules each stage, with which tiles.
KernelPlan planCpuKernel(const KernelAlgorithm &algorithm, const CpuRegisterTiles &tiles);
/// Schedules the algorithm as the plan says; throws std::runtime_error when it does not fit.
void applyCpuPlan(KernelAlgorithm &algorithm, const KernelPlan &plan);
/// The knobs of a CPU plan worth measuring (kiln tune): tile shapes, vector widths, parallel
/// loops, and template alternatives (direct tiles or vectors across channels for a
/// convolution, whole or per-channel bordered copies).
std::vector<PlanKnob> cpuPlanSpace(const KernelPlan &heuristic, bool threads);

class CpuBackend : public TargetBackend {
public:
  LayoutOptions layoutOptions(const TargetInfo &target) const override {
    LayoutOptions options;
    options.interleaveQuantized = !target.integerDotTarget.empty();
    return options;
  }
  KernelPlan planKernel(const KernelAlgorithm &algorithm,
                        const TargetInfo &target) const override {
    KernelPlan plan = planCpuKernel(algorithm, registerTiles(target));
    plan.backend = family();
    if (target.freestanding) {  // one thread: no parallel loops
      plan.parallel = false;
      for (StagePlan &stage : plan.stages)
        stage.parallel = false;
    }
    return plan;
  }
  void applyPlan(KernelAlgorithm &algorithm, const KernelPlan &plan,
                 const TargetInfo &) const override {
    applyCpuPlan(algorithm, plan);
  }
  RuntimeNeeds runtimeNeeds(const TargetInfo &) const override { return {}; }
  std::vector<PlanKnob> planSpace(const KernelPlan &heuristic,
                                  const TargetInfo &target) const override {
    return cpuPlanSpace(heuristic, !target.freestanding);
  }
  bool concatenatesBySlices() const override { return true; }

protected:
  virtual CpuRegisterTiles registerTiles(const TargetInfo &target) const = 0;
};

const TargetBackend &x86Backend();
const TargetBackend &armBackend();
const TargetBackend &riscvBackend();
const TargetBackend &cortexMBackend();
const TargetBackend &wasmBackend();

} // namespace kiln

#endif
