//===- Pipeline.cpp - kiln's pass pipeline ----------------------------------===//
//
// See Pipeline.h. Also registered as `--kiln-pipeline` in kiln-opt for lit tests.
//
//===----------------------------------------------------------------------===//
#include "compiler/pipeline/Pipeline.h"

#include "dialects/kiln/Transforms/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Transforms/Passes.h"

namespace kiln {

void buildKilnPipeline(mlir::OpPassManager &pm, const PipelineOptions &options) {
  pm.addPass(mlir::createCanonicalizerPass());
  pm.addPass(mlir::createCSEPass());
  pm.addNestedPass<mlir::func::FuncOp>(createFoldConvAffinePass());
  pm.addNestedPass<mlir::func::FuncOp>(createSplitConvBordersPass());
  pm.addNestedPass<mlir::func::FuncOp>(createFuseLayerNormPass());
  pm.addNestedPass<mlir::func::FuncOp>(createSinkTransposesPass());
  // What the layer-norm and transpose rewrites left dead.
  pm.addPass(mlir::createCanonicalizerPass());
  if (!options.quantize.empty()) {
    QuantizeWeightsPassOptions quantize;
    quantize.format = options.quantize;
    quantize.keep = options.keepFloat;
    quantize.report = options.quantizationReport;
    quantize.keepEnds = !options.quantizeEnds;
    quantize.uniform = options.quantizeUniform;
    pm.addNestedPass<mlir::func::FuncOp>(createQuantizeWeightsPass(quantize));
    if (options.integerDotWeights)
      pm.addNestedPass<mlir::func::FuncOp>(createInterleaveQuantizedWeightsPass());
  }
  if (options.winograd) {
    WinogradConvPassOptions winograd;
    winograd.strip = options.channelStrip;
    pm.addNestedPass<mlir::func::FuncOp>(createWinogradConvPass(winograd));
  }
  PackConvWeightsPassOptions packConv;
  packConv.strip = options.channelStrip;
  pm.addNestedPass<mlir::func::FuncOp>(createPackConvWeightsPass(packConv));
  PackMatmulWeightsPassOptions packMatmul;
  packMatmul.strip = options.channelStrip;
  pm.addNestedPass<mlir::func::FuncOp>(createPackMatmulWeightsPass(packMatmul));
  pm.addNestedPass<mlir::func::FuncOp>(createFormKernelsPass());
  if (options.flattenPointwise)
    pm.addNestedPass<mlir::func::FuncOp>(createFlattenPointwiseKernelsPass());
  pm.addNestedPass<mlir::func::FuncOp>(createConcatInPlacePass());
  PlanMemoryPassOptions memory;
  memory.alignment = options.arenaAlignment;
  memory.maxBytes = options.maxArenaBytes;
  pm.addNestedPass<mlir::func::FuncOp>(createPlanMemoryPass(memory));
}

mlir::LogicalResult planModuleMemory(mlir::ModuleOp module, int64_t arenaAlignment) {
  mlir::PassManager pm(module.getContext());
  PlanMemoryPassOptions memory;
  memory.alignment = arenaAlignment;
  pm.addNestedPass<mlir::func::FuncOp>(createPlanMemoryPass(memory));
  return pm.run(module);
}

mlir::LogicalResult runKilnPipeline(mlir::ModuleOp module, const PipelineOptions &options) {
  mlir::PassManager pm(module.getContext());
  buildKilnPipeline(pm, options);
  return pm.run(module);
}

} // namespace kiln
