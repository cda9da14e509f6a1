//===- Targets.h - compiling kernels for a target -------------------------===//
//
// The entry points the artifact builder uses: plan a kernel region with its target's
// backend, compile it (with the backend's plan or one given) to an object, and compile
// the Halide runtime. Target names and backends are in TargetBackend.h. This header
// stays free of Halide's headers so the driver compiles quickly.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_TARGETS_TARGETS_H
#define KILN_TARGETS_TARGETS_H

#include "dialects/kiln/IR/KilnOps.h"
#include "targets/TargetBackend.h"
#include <string>

namespace kiln {

/// The backend's heuristic plan for `kernel`. False and `error` (naming the kernel) when
/// the kernel cannot be expressed.
bool planKernel(KernelOp kernel, const TargetInfo &target, KernelPlan &plan,
                std::string &error);

/// Compiles one kiln.kernel to `objectPath`, exporting a C function `symbol` that takes
/// Halide's user_context (the runtime context), then one halide_buffer_t* per kernel input,
/// then one per result. Schedules it with `plan`,
/// or with the backend's heuristic plan when `plan` is null; `usedPlan` (if given)
/// receives the plan applied. Returns false and sets `error` (naming the kernel) on
/// failure, a plan that does not fit included.
bool compileKernel(KernelOp kernel, const std::string &symbol, const TargetInfo &target,
                   const KernelPlan *plan, const std::string &objectPath,
                   KernelPlan *usedPlan, std::string &error);

/// Compiles the Halide runtime shared by every kernel of an artifact (with the device
/// API's runtime for GPU targets).
bool compileHalideRuntime(const TargetInfo &target, const std::string &objectPath,
                          std::string &error);

} // namespace kiln

#endif
