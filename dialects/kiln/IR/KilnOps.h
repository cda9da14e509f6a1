//===- KilnOps.h - kiln op classes ----------------------------------------===//
//
// Declares the ops generated from KilnOps.td and the shape rules they share with the
// importer (KilnShapes.h).
//
//===----------------------------------------------------------------------===//
#ifndef KILN_DIALECT_IR_KILNOPS_H
#define KILN_DIALECT_IR_KILNOPS_H

#include "dialects/kiln/IR/KilnDialect.h"
#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Interfaces/ControlFlowInterfaces.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#define GET_OP_CLASSES
#include "dialects/kiln/IR/KilnOps.h.inc"

namespace kiln {
/// Whether `op` is one of the ops the runtime runs on the host (Kiln_HostOp in KilnOps.td:
/// NonZero, NonMaxSuppression, Unique, Det, MaxPool indices, TfIdf, RoiAlign): outside
/// kernels, results in arena buffers, one glue step each.
inline bool isHostOp(mlir::Operation *op) {
  return mlir::isa<NonZeroOp, NonMaxSuppressionOp, UniqueOp, DetOp, MaxPoolIndicesOp, TfIdfOp,
                   RoiAlignOp>(op);
}
} // namespace kiln

#endif
