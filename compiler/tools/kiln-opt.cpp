//===- kiln-opt.cpp - the kiln pass driver for lit tests ------------------===//
//
// mlir-opt restricted to the dialects kiln parses, plus kiln's passes and the upstream
// canonicalizer.
//
//===----------------------------------------------------------------------===//
#include "dialects/kiln/IR/KilnDialect.h"
#include "dialects/kiln/Transforms/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "mlir/Transforms/Passes.h"

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  registry.insert<kiln::KilnDialect, mlir::func::FuncDialect>();
  kiln::registerKilnPasses();
  mlir::registerCanonicalizerPass();
  mlir::registerCSEPass();
  return mlir::asMainReturnCode(mlir::MlirOptMain(argc, argv, "kiln optimizer driver\n", registry));
}
