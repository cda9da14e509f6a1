//===- CpuSchedule.cpp - schedule templates shared by the CPU targets -----===//
//
// The schedule half of codegen for x86 and ARM: stages that reduce (conv, matmul, pool,
// reductions) are computed at root; elementwise work stays inlined into the consumer that
// writes the kernel output. Loops are vectorized along the innermost (contiguous) axis and
// parallelized along the outermost axis with more than one iteration.
//
// Measured (PP-OCRv4 det 1x3x640x640, 2 threads, Xeon AVX-512 VM): see docs/benchmarks.md.
// The direct conv loop nest keeps accumulators in memory (L1-resident rows); register
// blocking and packed layouts are the next step (issue: x86 performance).
//
//===----------------------------------------------------------------------===//
#include "targets/common/KernelAlgorithm.h"

using namespace Halide;

namespace kiln {
namespace {

/// Extent of Halide dimension `d` of `t` (dimension 0 is the innermost ONNX axis).
int extentOf(const TensorFunc &t, int d) { return int(t.shape[t.shape.size() - 1 - d]); }

/// The outermost dimension with more than one iteration, or -1.
int parallelDim(const TensorFunc &t) {
  for (int d = int(t.vars.size()) - 1; d >= 1; --d)
    if (extentOf(t, d) > 1)
      return d;
  return -1;
}

void schedulePure(Func f, const TensorFunc &t, int lanes, bool parallel) {
  if (t.vars.empty())
    return;
  int lanesFor = lanes * 32 / std::max(8, t.type.bits());
  if (extentOf(t, 0) >= lanesFor)
    f.vectorize(t.vars[0], lanesFor);
  int p = parallelDim(t);
  if (parallel && p >= 0)
    f.parallel(t.vars[p]);
}

void scheduleReductionUpdate(const KernelStage &stage, int lanes, bool parallel) {
  const TensorFunc &t = stage.tensor;
  Func f = t.func;
  f.compute_root();
  schedulePure(f, t, lanes, parallel);
  if (!stage.reduction.defined() || t.vars.empty())
    return;
  Halide::Stage update = f.update();
  // Innermost: a vector of outputs along the contiguous axis; then the reduction; then the
  // remaining output axes. Each reduction step is then one vector multiply-add.
  std::vector<VarOrRVar> order;
  Var inner("inner"), outer("outer");
  bool vectorized = extentOf(t, 0) >= lanes;
  if (vectorized) {
    update.split(t.vars[0], outer, inner, lanes, TailStrategy::GuardWithIf);
    order.push_back(inner);
  }
  for (int i = 0; i < stage.reduction.dimensions(); ++i)
    order.push_back(stage.reduction[i]);
  if (vectorized)
    order.push_back(outer);
  else
    order.push_back(t.vars[0]);
  for (size_t d = 1; d < t.vars.size(); ++d)
    order.push_back(t.vars[d]);
  update.reorder(order);
  if (vectorized)
    update.vectorize(inner);
  int p = parallelDim(t);
  if (parallel && p >= 0)
    update.parallel(t.vars[p]);
}

} // namespace

void scheduleCpuKernel(KernelAlgorithm &algorithm, int vectorLanes, bool parallel) {
  for (KernelStage &stage : algorithm.stages) {
    switch (stage.kind) {
    case StageClass::Conv:
    case StageClass::Depthwise:
    case StageClass::Matmul:
      scheduleReductionUpdate(stage, vectorLanes, parallel);
      break;
    default:
      stage.tensor.func.compute_root();
      schedulePure(stage.tensor.func, stage.tensor, vectorLanes, parallel);
      break;
    }
  }
  for (TensorFunc &output : algorithm.outputs)
    schedulePure(output.func, output, vectorLanes, parallel);
}

} // namespace kiln
