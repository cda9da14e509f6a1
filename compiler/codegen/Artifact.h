//===- Artifact.h - from a planned module to an artifact and its weights --===//
//
// The back half of `kiln compile`, in four parts: collect the weights (Weights in
// ArtifactParts.h), compile each kiln.kernel with its target's backend and plan, emit the
// C glue (Glue.cpp: buffer descriptors, call sequence, I/O, weight and device tables), and
// link (Link.cpp) glue, runtime and kernels into the requested output kind.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_COMPILER_CODEGEN_ARTIFACT_H
#define KILN_COMPILER_CODEGEN_ARTIFACT_H

#include "mlir/IR/BuiltinOps.h"
#include "targets/Targets.h"
#include <string>
#include <utility>
#include <vector>

namespace kiln {

/// What the linker produces: an executable (OUT, OUT.gguf) or a library with a C header
/// (DIR/libNAME.a or .so, DIR/NAME.h, DIR/NAME.gguf, DIR/NAME.pc for -o DIR/NAME).
enum class OutputKind { Executable, StaticLibrary, SharedLibrary };

/// "exe", "static-lib", "shared-lib" (the --emit values).
const char *outputKindName(OutputKind kind);

/// Why `name` (a library's file name) cannot name a library, "" if it can: its symbol
/// prefix must be a C identifier that cannot clash with the library's internal symbols.
std::string libraryNameProblem(const std::string &name);

struct ArtifactOptions {
  std::string outputPath;   // executable (or Mac build kit directory); weights: + ".gguf"
                            // a library: DIR/NAME, the files are named after it
  std::string modelName;    // the output's file name (a library's symbols: as a C identifier)
  std::string sourceName;   // model file name, recorded in the weights metadata
  TargetInfo target;
  OutputKind outputKind = OutputKind::Executable;
  /// Link the weights file into the output (`--weights embed`) instead of writing it beside.
  bool embedWeights = false;
  /// Plans to apply where a kernel's key has one (`--plans`); the heuristic elsewhere.
  const PlanFile *plans = nullptr;
  /// Where to write every kernel's plan (`--emit-plans`); empty: nowhere.
  std::string emitPlansPath;
  bool verbose = false;
  bool keepTemps = false;
  /// No progress or summary lines (`kiln tune` builds many small artifacts); errors still
  /// come back through `error`.
  bool quiet = false;
};

/// Builds the artifact from a module that went through the kiln pipeline. On failure
/// returns false with `error` set and leaves no output files behind.
bool buildArtifact(mlir::ModuleOp module, const ArtifactOptions &options, std::string &error);

/// Per kernel of the module's @main, in call order: its name and its plan key (the content
/// hash plan files, tuning databases and --emit-plans file plans under).
std::vector<std::pair<std::string, std::string>> kernelPlanKeys(mlir::ModuleOp module,
                                                                const TargetInfo &target);

/// Writes `path`: per kernel, in call order, the model nodes its operations came from
/// (`--emit-source-map`; format in docs/formats.md).
bool writeKernelSourceMap(mlir::ModuleOp module, const std::string &path, std::string &error);

} // namespace kiln

#endif
