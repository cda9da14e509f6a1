//===- Passes.h - kiln pass entry points ----------------------------------===//
//
// Declares the passes generated from Passes.td and a registration hook for kiln-opt.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_DIALECT_TRANSFORMS_PASSES_H
#define KILN_DIALECT_TRANSFORMS_PASSES_H

#include "dialects/kiln/IR/KilnDialect.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Pass/Pass.h"

namespace kiln {

#define GEN_PASS_DECL
#include "dialects/kiln/Transforms/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "dialects/kiln/Transforms/Passes.h.inc"

/// Whether an op computes each result element from the same-index elements of its
/// operands (after broadcasting), so it can be fused into its producer's kernel.
bool isElementwise(mlir::Operation *op);

} // namespace kiln

#endif
