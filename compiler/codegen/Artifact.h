//===- Artifact.h - from a planned module to an executable and its weights --===//
//
// The back half of `kiln compile`: compiles each kiln.kernel with Halide, emits the C glue
// (buffer descriptors, call sequence, I/O and weight tables), writes the GGUF weights and
// links everything with the C runtime using the target's C compiler.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_COMPILER_CODEGEN_ARTIFACT_H
#define KILN_COMPILER_CODEGEN_ARTIFACT_H

#include "mlir/IR/BuiltinOps.h"
#include "targets/Targets.h"
#include <string>

namespace kiln {

struct ArtifactOptions {
  std::string outputPath;   // executable; weights go to outputPath + ".gguf"
  std::string modelName;    // C identifier used as symbol prefix
  std::string sourceName;   // model file name, recorded in the weights metadata
  TargetInfo target;
  bool verbose = false;
  bool keepTemps = false;
};

/// Builds the artifact from a module that went through the kiln pipeline. On failure
/// returns false with `error` set and leaves no output files behind.
bool buildArtifact(mlir::ModuleOp module, const ArtifactOptions &options, std::string &error);

} // namespace kiln

#endif
