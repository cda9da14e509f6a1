//===- ArtifactParts.h - the pieces the artifact builder passes around ----===//
//
// Internal to compiler/codegen: what Artifact.cpp collects from the planned module
// (weights, kernel calls, inputs and outputs) and hands to the glue emitter (Glue.cpp) and
// the linker (Link.cpp).
//
//===----------------------------------------------------------------------===//
#ifndef KILN_COMPILER_CODEGEN_ARTIFACTPARTS_H
#define KILN_COMPILER_CODEGEN_ARTIFACTPARTS_H

#include "compiler/codegen/Artifact.h"
#include "compiler/codegen/Gguf.h"
#include "dialects/kiln/IR/KilnOps.h"

#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace kiln {

/// Where a tensor lives at run time: an arena range or a weight.
struct BufferRef {
  bool isWeight = false;
  int64_t location = 0;  // arena offset, or weight index
};

/// How an MLIR element type appears in glue, GGUF and Halide buffers.
struct ElementInfo {
  int kilnDtype;
  uint32_t ggmlType;
  int halideCode, halideBits;
};
ElementInfo elementInfo(mlir::Type type);

/// A C string literal for `text`.
std::string cString(const std::string &text);

/// 1. The weights: every kiln.constant that feeds a kernel becomes one GGUF tensor (once,
/// however many kernels read it), under a unique name, and enters the fingerprint that
/// ties the executable to its weights file.
class Weights {
public:
  /// The weight index of `constant`, adding it on first use.
  int64_t indexOf(ConstantOp constant);
  const std::vector<GgufTensor> &tensors() const { return list; }
  /// 16 hex digits over every name and byte.
  std::string fingerprint() const;
  uint64_t totalBytes() const;

private:
  std::vector<GgufTensor> list;
  std::set<std::string> names;
  llvm::DenseMap<mlir::Value, int64_t> indices;
  uint64_t hash = 1469598103934665603ull;
};

/// One argument of a kernel call.
struct CallArgument {
  mlir::RankedTensorType type;
  BufferRef buffer;
};

/// 2. A step of the program, in order: a kernel call (the compiled symbol and its
/// buffers), or a branch of a kiln.if.
struct KernelCall {
  enum class Kind {
    Kernel,
    BranchUnless,  // continue at `target` when the bool in inputs[0] is false
    Jump,          // continue at `target`
    // A kiln.loop: results[0] is its iteration number, inputs[0] its condition and
    // inputs[1] (when `tripCount` is not known) its trip count.
    LoopEnter,     // iteration = 0; continue at `target` (past the loop) unless it runs
    LoopNext,      // iteration + 1; back to `target` (the body's first step) while it runs
    HostOp,        // a runtime function (kiln/host_ops.h) named by `symbol`, `parameters`
  };
  Kind kind = Kind::Kernel;
  int target = 0;      // BranchUnless, Jump: a later step, or the number of steps (the end)
  std::vector<int64_t> parameters;    // HostOp: its integer arguments (see Glue.cpp)
  std::vector<double> floatParameters;  // HostOp: float arrays it reads (TfIdf's weights)
  std::optional<int64_t> tripCount;  // LoopEnter, LoopNext: a trip count known now
  int64_t iterationLimit = 0;        // LoopNext: past it the run fails
  std::string name;    // the kernel's name in the module (profiles, errors)
  std::string symbol;  // Kernel: the compiled function
  std::vector<CallArgument> inputs, results;
};

/// A model input or output.
struct ProgramIo {
  std::string name;
  mlir::RankedTensorType type;
  int64_t arenaOffset;
  std::optional<std::pair<int64_t, int64_t>> extent;  // (axis, arena offset of its length)
};

/// Bare-metal programs (kiln_freestanding_desc_t): the weights file's layout and the
/// arena's ranges beyond the tensors.
struct FreestandingLayout {
  uint64_t weightsFileSize = 0, fingerprintOffset = 0;
  std::vector<uint64_t> weightOffsets;  // each weight's data, from the file's start
  std::vector<std::pair<uint64_t, uint64_t>> stepScratch;  // per call: (offset, bytes)
  uint64_t largestScratch = 0, stateOffset = 0;
};
/// KILN_FREESTANDING_STATE_BYTES of runtime/include/kiln/program.h.
constexpr uint64_t kFreestandingStateBytes = 256;

/// Everything the glue describes.
struct ProgramTables {
  std::string modelName, sourceName, fingerprint;
  int64_t arenaSize = 0;
  std::vector<ProgramIo> inputs, outputs;
  const std::vector<GgufTensor> *weights = nullptr;
  /// The weights file's size when it is linked in (kiln_embedded_weights), else 0.
  uint64_t embeddedWeightsBytes = 0;
  std::vector<KernelCall> calls;
  std::optional<FreestandingLayout> freestanding;  // bare-metal targets only
};

/// 3. The glue C file for `tables`; device programs (needs.api != None) get device
/// handles on every buffer and a device table.
std::string emitGlue(const ProgramTables &tables, const RuntimeNeeds &needs);

/// What a library's header says beyond the program tables.
struct LibraryFacts {
  std::string prefix;      // every exported symbol starts with prefix + "_"
  std::string fileName;    // NAME in libNAME.a, NAME.h, NAME.gguf, NAME.pc
  std::string kindName;    // "static-lib" or "shared-lib"
  std::string targetName;
  int64_t arenaAlignment = 64;
  uint64_t weightsFileBytes = 0;
  bool embeddedWeights = false;  // linked in: no NAME.gguf
  bool freestanding = false;     // bare metal: caller's memory only, no files or threads
};

/// `name` as a C identifier for symbol prefixes ("my-model" -> "my_model").
std::string libraryPrefix(const std::string &name);
/// The functions a library exports: PREFIX_open, PREFIX_run, ... (nothing else is global).
std::vector<std::string> libraryExports(const std::string &prefix, bool freestanding);

/// 3b. A library's C header (NAME.h) and the C source of its API over kiln's runtime.
std::string emitLibraryHeader(const ProgramTables &tables, const LibraryFacts &facts);
std::string emitLibrarySource(const ProgramTables &tables, const LibraryFacts &facts);

/// 4. Compiles glue and runtime with the target's C toolchain and links them with the
/// kernel `objects` into `outputTemp` (a file, or a directory for a Mac build kit).
/// A library (`library` set) links glue, `apiSourcePath`, runtime (without main.c) and
/// kernels into one relocatable object whose only global symbols are `library->prefix`_*,
/// archived (static) or linked as a shared object with only those symbols exported.
bool linkArtifact(OutputKind kind, const TargetInfo &target, const RuntimeNeeds &needs,
                  const std::string &tempDir, const std::string &gluePath,
                  const std::vector<std::string> &objects, const std::string &outputTemp,
                  const std::string &modelName, const LibraryFacts *library,
                  const std::string &apiSourcePath, bool verbose, std::string &error);

/// Halide work for the artifact: one kernel's object, one kernel's plan, or the Halide
/// runtime. Each runs in a child process (CompileJobs.cpp).
struct CompileJob {
  enum class Kind { Kernel, Plan, Runtime };
  Kind kind = Kind::Kernel;
  KernelOp kernel;
  std::string name;              // the kernel's name (messages)
  std::string symbol;            // Kernel: the exported function
  const KernelPlan *plan = nullptr;  // Kernel: the plan to apply (null: the heuristic's)
  std::string objectPath;        // Kernel, Runtime: where the object goes
  std::string planPath;          // Kernel, Plan: where the plan used goes (empty: nowhere)
  std::string errorPath;         // the child's error message, if it fails
};

/// Runs `jobs` in child processes (KILN_JOBS at a time, default the CPU count), calling
/// `onDone` for each that succeeds; stops starting new ones after the first failure,
/// whose message (or the signal that killed it) is returned in `error`.
bool runCompileJobs(std::vector<CompileJob> &jobs, const TargetInfo &target,
                    const std::function<void(const CompileJob &)> &onDone, std::string &error);

/// Kills the compile processes now running (async-signal-safe: for interrupt handlers).
void killCompileJobs();

/// Runs a tool; false with `error` on a missing tool or non-zero exit.
bool runCommand(const std::vector<std::string> &argv, bool verbose, std::string &error);

} // namespace kiln

#endif
