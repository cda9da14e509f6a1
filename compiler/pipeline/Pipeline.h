//===- Pipeline.h - kiln's pass pipeline ------------------------------------===//
//
// The passes between import and codegen, in order: canonicalize (folds shape arithmetic
// and constant subgraphs), kernel formation, memory planning.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_COMPILER_PIPELINE_PIPELINE_H
#define KILN_COMPILER_PIPELINE_PIPELINE_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/PassManager.h"

namespace kiln {

/// Adds kiln's default pipeline to `pm` (anchored on the module).
void buildKilnPipeline(mlir::OpPassManager &pm);

/// Runs the pipeline; diagnostics go to the context's handler.
mlir::LogicalResult runKilnPipeline(mlir::ModuleOp module);

} // namespace kiln

#endif
