//===- OnnxImporter.h - ONNX model -> kiln dialect -------------------------===//
//
// The ONNX frontend: parses a model with libonnx, checks it, converts it to one opset,
// specializes dynamic input dimensions and imports every node into kiln ops with static
// shapes. Shape arithmetic folds away during import (ops are created with createOrFold).
//
//===----------------------------------------------------------------------===//
#ifndef KILN_COMPILER_FRONTENDS_ONNX_ONNXIMPORTER_H
#define KILN_COMPILER_FRONTENDS_ONNX_ONNXIMPORTER_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include <map>
#include <string>
#include <vector>

namespace kiln {

struct OnnxImportOptions {
  /// Concrete shapes for inputs, by name (from --input-shape x=1,3,48,192).
  std::map<std::string, std::vector<int64_t>> inputShapes;
  /// Inputs bound to constants at compile time (from --bind NAME=V1,V2,...): the values
  /// in row-major order; the input's (specialized) shape must hold exactly that many.
  std::map<std::string, std::vector<double>> boundInputs;
  /// The opset every model is converted to before import.
  int targetOpset = 17;
  /// Report import decisions (opset fallback) on stderr.
  bool verbose = false;
  /// Limits against hostile or broken models, each an error naming what passed it
  /// (driver flags --max-model-bytes, --max-nodes, --max-folded-bytes):
  /// the model file plus its external data, checked before anything is read;
  int64_t maxModelBytes = int64_t(16) << 30;
  /// nodes imported, counting every unrolled loop iteration and subgraph node;
  int64_t maxNodes = 1000000;
  /// bytes of constants built by constant folding (past it, ops compute at run time).
  int64_t maxFoldedBytes = int64_t(2) << 30;
  /// iterations of a Loop decided at run time whose trip count is computed (past it the
  /// run fails, so every run ends).
  int64_t maxLoopIterations = int64_t(1) << 24;
};

/// Why an import failed. `unsupported` lists every unsupported op type with the nodes that
/// use it (the driver exits with code 2 for those); `messages` holds other errors.
struct OnnxImportError {
  std::map<std::string, std::vector<std::string>> unsupported;
  std::vector<std::string> messages;
  bool empty() const { return unsupported.empty() && messages.empty(); }
};

/// Imports `path` into a module with one function @main. Returns null and fills `error`
/// when the model cannot be compiled.
mlir::OwningOpRef<mlir::ModuleOp> importOnnxModel(mlir::MLIRContext &context,
                                                  const std::string &path,
                                                  const OnnxImportOptions &options,
                                                  OnnxImportError &error);

/// ONNX op types the importer handles (for messages and docs).
std::vector<std::string> supportedOnnxOps();

} // namespace kiln

#endif
