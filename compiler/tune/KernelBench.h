//===- KernelBench.h - one kernel of a model, built and timed alone --------===//
//
// `kiln tune` measures each candidate plan on a program that runs one kernel with its real
// shapes and weights: the kernel is cut out of the planned module (its activation inputs
// become the program's inputs, its weights stay weights, its results are the outputs),
// memory-planned again and built by the ordinary artifact builder, so the kernel's content
// hash, and with it the plan key and the object cache, is the model's. The executable is
// the one `kiln compile` makes: it reads .npy inputs, times runs (--bench, --min-time) and
// writes .npy outputs, which are compared with the heuristic plan's before a time counts.
// Each run is a child process with a timeout, so a candidate that crashes or hangs is
// recorded as such and the tuner goes on.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_COMPILER_TUNE_KERNELBENCH_H
#define KILN_COMPILER_TUNE_KERNELBENCH_H

#include "dialects/kiln/IR/KilnOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "compiler/tune/KernelRun.h"
#include "targets/Targets.h"

#include <string>
#include <vector>

namespace kiln {

/// A module whose @main computes `kernel` alone (inputs in0, in1, ..., outputs out0, ...),
/// memory-planned; null and `error` on failure.
mlir::OwningOpRef<mlir::ModuleOp> extractKernel(KernelOp kernel, int64_t arenaAlignment,
                                                std::string &error);

/// Writes one .npy file per input of the module's @main into `dir` (inN.npy): floats
/// uniform in [-1, 1) from a fixed seed, integers and booleans zero (always valid indices).
/// Returns the executable's --input arguments.
bool writeKernelInputs(mlir::ModuleOp module, const std::string &dir,
                       std::vector<std::string> &inputArgs, std::string &error);

/// Per output of the module's @main: whether it is float32 (compared with a tolerance).
std::vector<bool> float32Outputs(mlir::ModuleOp module);

} // namespace kiln

#endif
