//===- GpuSchedule.cpp - schedule templates shared by the GPU targets -----===//
//
// The schedule half of codegen for CUDA, OpenCL and Metal (Halide picks the device API
// from the target). Every stage that reduces or gathers is computed at root as its own
// device kernel over a grid of thread blocks; elementwise work stays inlined into the
// stage or output that reads it, and decoded weights into their contraction. Each thread
// computes one output element and runs its reduction serially, so results are summed in
// the same order as on the CPU's scalar path.
//
// Thread tiles come from the stage's extents: up to 32 threads along the contiguous axis
// (a warp reads consecutive floats) and up to 256 threads per block in all.
//
//===----------------------------------------------------------------------===//
#include "targets/gpu/GpuBackend.h"

#include <algorithm>
#include <stdexcept>

using namespace Halide;

namespace kiln {
namespace {

int extentOf(const TensorFunc &t, int d) { return int(t.shape[t.shape.size() - 1 - d]); }

int64_t roundUpToPowerOfTwo(int64_t value) {
  int64_t p = 1;
  while (p < value)
    p *= 2;
  return p;
}

/// Threads per block for a tensor: (x, y), y = 0 for a one-dimensional grid.
std::pair<int64_t, int64_t> threadTile(const TensorFunc &t) {
  if (t.vars.empty())
    return {1, 0};
  int64_t x = std::min<int64_t>(32, roundUpToPowerOfTwo(extentOf(t, 0)));
  if (t.vars.size() == 1)
    return {std::min<int64_t>(256, roundUpToPowerOfTwo(extentOf(t, 0))), 0};
  int64_t y = std::min<int64_t>(256 / x, roundUpToPowerOfTwo(extentOf(t, 1)));
  return {x, y};
}

/// Whether dimension `d` of update `u` of `f` is a pure variable (the update may then run
/// in parallel along it).
bool updateDimIsPure(Func f, int u, int d) {
  std::vector<Expr> args = f.update_args(u);
  if (d >= int(args.size()))
    return false;
  const Internal::Variable *v = args[d].as<Internal::Variable>();
  return v && v->name == f.args()[d].name();
}

/// Maps the loops of one definition of `f` (the pure one when `update` < 0) onto the GPU:
/// dimensions 0 and 1 as thread and block tiles, the outer ones fused into the third
/// block dimension. An update that writes along a non-pure dimension runs on one thread.
void gpuTiles(Func f, int update, int64_t threadsX, int64_t threadsY) {
  std::vector<Var> vars = f.args();
  Halide::Stage stage = update < 0 ? Halide::Stage(f) : f.update(update);
  for (int d = 0; update >= 0 && d < int(vars.size()); ++d)
    if (!updateDimIsPure(f, update, d)) {
      stage.gpu_single_thread();
      return;
    }
  if (vars.empty()) {
    stage.gpu_single_thread();
    return;
  }
  Var bx("bx"), by("by"), tx("tx"), ty("ty");
  if (vars.size() == 1 || threadsY <= 0) {
    stage.gpu_tile(vars[0], bx, tx, int(threadsX), TailStrategy::GuardWithIf);
    if (vars.size() >= 2) {
      // Outer dimensions: block dimensions y (and z, fused).
      if (vars.size() == 2) {
        stage.gpu_blocks(vars[1]);
      } else {
        Var outer = vars[2];
        for (size_t d = 3; d < vars.size(); ++d) {
          Var fused("fused" + std::to_string(d));
          stage.fuse(outer, vars[d], fused);
          outer = fused;
        }
        stage.gpu_blocks(vars[1], outer);
      }
    }
    return;
  }
  stage.gpu_tile(vars[0], vars[1], bx, by, tx, ty, int(threadsX), int(threadsY),
                 TailStrategy::GuardWithIf);
  if (vars.size() > 2) {
    Var outer = vars[2];
    for (size_t d = 3; d < vars.size(); ++d) {
      Var fused("fused" + std::to_string(d));
      stage.fuse(outer, vars[d], fused);
      outer = fused;
    }
    stage.gpu_blocks(outer);
  }
}

/// The row axis of a contraction's thread tiles: a matmul's or depthwise convolution's
/// rows (dimension 1; a depthwise thread reuses input rows across its output rows), a
/// convolution's output channels (dimension 2; a thread reuses each input value across its
/// channels, and the warp's threads share each weight load). -1 when the stage is not a
/// contraction that feeds the kernel's only output.
int threadTileRowDim(const KernelStage &stage, const KernelAlgorithm &algorithm) {
  const TensorFunc &t = stage.tensor;
  bool contraction = stage.kind == StageClass::Matmul || stage.kind == StageClass::Conv ||
                     stage.kind == StageClass::Depthwise;
  if (!contraction || algorithm.outputs.size() != 1 || algorithm.outputs[0].shape != t.shape ||
      !stage.reduction.defined() || t.vars.size() < 2)
    return -1;
  if (stage.kind == StageClass::Conv && t.vars.size() == 4)
    return 2;
  return 1;
}

/// A contraction computed per thread at the kernel's output, `rows` outputs along the row
/// axis per thread kept in registers (the loop unrolled), threadsX x threadsY threads per
/// block along the contiguous and row axes, every other axis a block dimension; the
/// elementwise epilogue runs on the thread's outputs. Splits shift inwards at the edges
/// (recomputing a few outputs) so every thread's tile has constant extents.
void scheduleThreadTiles(KernelStage &stage, TensorFunc &output, int rowDim, int64_t threadsX,
                         int64_t threadsY, int64_t rows) {
  const TensorFunc &t = stage.tensor;
  int extentX = extentOf(t, 0), extentY = extentOf(t, rowDim);
  int tx = int(std::min<int64_t>(threadsX, extentX));
  int ry = int(std::min<int64_t>(rows, extentY));
  int ty = int(std::max<int64_t>(1, std::min<int64_t>(threadsY, extentY / ry)));
  Func out = output.func;
  std::vector<Var> vars = output.vars;
  Var xo("xo"), xi("xi"), yo("yo"), yi("yi"), yt("yt"), yr("yr");
  out.split(vars[0], xo, xi, tx, TailStrategy::ShiftInwards)
      .split(vars[rowDim], yo, yi, ty * ry, TailStrategy::ShiftInwards)
      .split(yi, yt, yr, ry, TailStrategy::ShiftInwards);
  std::vector<VarOrRVar> order{yr, xi, yt, xo, yo};
  std::vector<Var> others;
  for (int d = 1; d < int(vars.size()); ++d)
    if (d != rowDim) {
      order.push_back(vars[d]);
      others.push_back(vars[d]);
    }
  out.reorder(order).unroll(yr).gpu_threads(xi, yt);
  if (others.empty()) {
    out.gpu_blocks(xo, yo);
  } else {
    Var outer = others[0];
    for (size_t d = 1; d < others.size(); ++d) {
      Var fused("fused" + std::to_string(d));
      out.fuse(outer, others[d], fused);
      outer = fused;
    }
    out.gpu_blocks(xo, yo, outer);
  }
  Func f = t.func;
  f.compute_at(out, xi).unroll(t.vars[rowDim]);
  Halide::Stage update = f.update();
  std::vector<VarOrRVar> updateOrder{t.vars[rowDim]};
  for (int i = 0; i < stage.reduction.dimensions(); ++i)
    updateOrder.push_back(stage.reduction[i]);
  for (int d = 0; d < int(t.vars.size()); ++d)
    if (d != rowDim)
      updateOrder.push_back(t.vars[d]);
  update.reorder(updateOrder).unroll(t.vars[rowDim]);
  // A depthwise window is small: unrolled, a thread's rows share their input loads.
  if (stage.kind == StageClass::Depthwise)
    for (int i = 0; i < stage.reduction.dimensions(); ++i)
      update.unroll(stage.reduction[i]);
}

void checkThreads(const std::string &where, int64_t x, int64_t y) {
  if (x < 1 || x > 1024 || y < 0 || y > 1024 || x * std::max<int64_t>(y, 1) > 1024)
    throw std::runtime_error("the plan does not fit: " + where +
                             ": threads per block must be 1 to 1024 in all");
}

} // namespace

KernelPlan planGpuKernel(const KernelAlgorithm &algorithm) {
  KernelPlan plan;
  plan.vectorLanes = 1;
  plan.parallel = true;
  plan.outputs = "";
  for (const KernelStage &stage : algorithm.stages) {
    StagePlan s;
    s.kind = stageClassName(stage.kind);
    s.parallel = true;
    if (stage.kind == StageClass::Weights) {
      // Decoding a block element is a few integer ops: redo it where the product reads it.
      s.schedule = "inline";
      s.parallel = false;
    } else if (stage.kind == StageClass::Data && stage.role == DataRole::Phases) {
      // x phases serve CPU vector loads; a GPU thread reads the bordered input at stride.
      s.schedule = "inline";
      s.parallel = false;
    } else if (stage.kind == StageClass::Data && stage.role == DataRole::Border &&
               !std::any_of(algorithm.stages.begin(), algorithm.stages.end(),
                            [&](const KernelStage &conv) {
                              return conv.inputPaths.padded &&
                                     conv.inputPaths.borderStage == int(plan.stages.size());
                            })) {
      s.schedule = "inline";  // bordered only for the phases: nothing to copy
      s.parallel = false;
    } else if (int rowDim = threadTileRowDim(stage, algorithm);
               rowDim >= 0 && plan.outputs != "by_stage") {
      // Thread tiles: 32 threads along the contiguous axis (coalesced loads and stores),
      // 8 along the row axis, 4 rows per thread (unmeasured on a GPU so far: a starting
      // point for tuning, chosen to keep 4 accumulators and 256 threads per block).
      s.schedule = "gpu_thread_tiles";
      s.rowDim = rowDim;
      s.threadsX = std::min<int64_t>(32, extentOf(stage.tensor, 0));
      s.rows = std::min<int64_t>(4, extentOf(stage.tensor, rowDim));
      s.threadsY = std::max<int64_t>(1, std::min<int64_t>(256 / s.threadsX,
                                                          extentOf(stage.tensor, rowDim) / s.rows));
      plan.outputs = "by_stage";
    } else {
      s.schedule = "gpu_tiles";
      std::tie(s.threadsX, s.threadsY) = threadTile(stage.tensor);
    }
    plan.stages.push_back(s);
  }
  if (plan.outputs == "by_stage")
    return plan;
  plan.outputs = "gpu_tiles";
  if (!algorithm.outputs.empty())
    std::tie(plan.outputThreadsX, plan.outputThreadsY) = threadTile(algorithm.outputs[0]);
  return plan;
}

void applyGpuPlan(KernelAlgorithm &algorithm, const KernelPlan &plan) {
  if (plan.stages.size() != algorithm.stages.size())
    throw std::runtime_error("the plan does not fit: kernel: it has " +
                             std::to_string(algorithm.stages.size()) +
                             " stages, the plan describes " + std::to_string(plan.stages.size()));
  int byStage = 0;  // stages that tile the output (at most one)
  for (size_t i = 0; i < plan.stages.size(); ++i) {
    const StagePlan &s = plan.stages[i];
    KernelStage &stage = algorithm.stages[i];
    std::string where = "stage " + std::to_string(i);
    if (s.kind != stageClassName(stage.kind))
      throw std::runtime_error("the plan does not fit: " + where + ": it is a " +
                               stageClassName(stage.kind) + " stage, the plan describes a " +
                               s.kind + " stage");
    if (stage.kind == StageClass::Winograd || stage.kind == StageClass::QuantizedMatmul)
      throw std::runtime_error(std::string("GPU targets have no schedule for ") +
                               stageClassName(stage.kind) + " stages (the GPU backends turn "
                               "the passes that make them off)");
    if (s.schedule == "inline") {
      if (stage.kind != StageClass::Weights && stage.kind != StageClass::Data)
        throw std::runtime_error("the plan does not fit: " + where +
                                 ": only decoded weights and data stages can stay inline");
      continue;
    }
    if (s.schedule == "gpu_thread_tiles") {
      int rowDim = threadTileRowDim(stage, algorithm);
      if (rowDim < 0 || plan.outputs != "by_stage" || byStage++)
        throw std::runtime_error("the plan does not fit: " + where + ": gpu_thread_tiles needs "
                                 "a contraction that is the kernel's only output, once, with "
                                 "outputs 'by_stage'");
      if (s.rowDim != rowDim)
        throw std::runtime_error("the plan does not fit: " + where + ": gpu_thread_tiles runs "
                                 "rows along dimension " + std::to_string(rowDim));
      if (s.rows < 1 || s.rows > 16)
        throw std::runtime_error("the plan does not fit: " + where +
                                 ": gpu_thread_tiles needs rows from 1 to 16");
      checkThreads(where, s.threadsX, s.threadsY);
      scheduleThreadTiles(stage, algorithm.outputs[0], rowDim, s.threadsX, s.threadsY, s.rows);
      continue;
    }
    if (s.schedule != "gpu_tiles")
      throw std::runtime_error("the plan does not fit: " + where + ": unknown schedule '" +
                               s.schedule + "' for a GPU target");
    checkThreads(where, s.threadsX, s.threadsY);
    Func f = stage.tensor.func;
    f.compute_root();
    gpuTiles(f, -1, s.threadsX, s.threadsY);
    for (int u = 0; u < f.num_update_definitions(); ++u)
      gpuTiles(f, u, s.threadsX, s.threadsY);
  }
  if (plan.outputs == "by_stage") {
    if (!byStage)
      throw std::runtime_error("the plan does not fit: outputs: 'by_stage' needs a "
                               "gpu_thread_tiles stage");
    return;
  }
  if (plan.outputs != "gpu_tiles")
    throw std::runtime_error("the plan does not fit: outputs: GPU outputs are 'gpu_tiles' or "
                             "'by_stage'");
  checkThreads("outputs", plan.outputThreadsX, plan.outputThreadsY);
  for (TensorFunc &output : algorithm.outputs) {
    auto [x, y] = threadTile(output);
    // The plan's tile is the first output's; other outputs of other shapes keep their own.
    if (output.shape == algorithm.outputs[0].shape)
      x = plan.outputThreadsX, y = plan.outputThreadsY;
    gpuTiles(output.func, -1, x, y);
  }
}

} // namespace kiln
