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

#endif
