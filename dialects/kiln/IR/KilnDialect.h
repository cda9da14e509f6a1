//===- KilnDialect.h - the kiln dialect -----------------------------------===//
//
// Declares the dialect class generated from KilnDialect.td.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_DIALECT_IR_KILNDIALECT_H
#define KILN_DIALECT_IR_KILNDIALECT_H

#include "mlir/IR/Dialect.h"

#include "dialects/kiln/IR/KilnDialect.h.inc"

#endif
