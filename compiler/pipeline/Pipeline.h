//===- Pipeline.h - kiln's pass pipeline ------------------------------------===//
//
// The passes between import and codegen, in order: canonicalize (folds shape arithmetic
// and constant subgraphs), CSE, weight quantization (with --quantize; then interleaving for
// integer dot products where the target has them), conv weight packing,
// kernel formation, memory planning.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_COMPILER_PIPELINE_PIPELINE_H
#define KILN_COMPILER_PIPELINE_PIPELINE_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/PassManager.h"

namespace kiln {

struct PipelineOptions {
  /// Empty: keep weights in float; else q8_0, q4_0, q4_1, q5_0, q5_1 or int8.
  std::string quantize;
  /// Layers kept in float besides the first and last (node-name substrings or op kinds).
  std::string keepFloat;
  bool quantizationReport = false;
  /// Quantize the first and last layer too (by default they stay float).
  bool quantizeEnds = false;
  /// Every quantized layer in `quantize` (by default, residual writers and small layers
  /// take q8_0 under the 4- and 5-bit formats).
  bool quantizeUniform = false;
  /// The target has fast 8-bit dot products (x86, aarch64-dotprod): interleave GGML-format
  /// weights of matmuls and pointwise convs.
  bool integerDotWeights = false;
  /// Run 3x3 stride-1 convolutions with float weights as Winograd F(m x m, 3 x 3).
  bool winograd = true;
  /// 1x1 convolution kernels run on flattened (N, C, 1, H*W) images.
  bool flattenPointwise = true;
  /// Byte alignment of every tensor in the arena.
  int64_t arenaAlignment = 64;
  /// Output channels per strip of packed weights (the target's choice).
  int64_t channelStrip = 16;
  /// The largest arena the memory plan may need (--max-arena-bytes).
  int64_t maxArenaBytes = int64_t(64) << 30;
};

/// Adds kiln's default pipeline to `pm` (anchored on the module).
void buildKilnPipeline(mlir::OpPassManager &pm, const PipelineOptions &options = {});

/// Runs kiln-plan-memory alone (a module put together after the pipeline: `kiln tune`'s
/// one-kernel benchmarks).
mlir::LogicalResult planModuleMemory(mlir::ModuleOp module, int64_t arenaAlignment);

/// Runs the pipeline; diagnostics go to the context's handler.
mlir::LogicalResult runKilnPipeline(mlir::ModuleOp module, const PipelineOptions &options = {});

} // namespace kiln

#endif
