//===- Targets.h - the targets a user can name ----------------------------===//
//
// A target is a name a user types (`host`, `x86-64-avx2`, `aarch64`...) mapped to a Halide
// target string, a schedule family and the C toolchain that links the artifact. Also the
// entry points that compile one kernel region (or the Halide runtime) to an object file.
// This header stays free of Halide's headers so the driver compiles quickly.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_TARGETS_TARGETS_H
#define KILN_TARGETS_TARGETS_H

#include "dialects/kiln/IR/KilnOps.h"
#include <string>
#include <vector>

namespace kiln {

enum class ScheduleFamily { X86, Arm };

struct TargetInfo {
  std::string name;          // what the user typed
  std::string halideTarget;  // e.g. "x86-64-linux-avx-avx2-f16c-fma-sse41"
  ScheduleFamily family;
  int vectorBytes;           // natural SIMD width
  std::string cc;            // C compiler that builds and links the artifact
  std::vector<std::string> ccFlags;
  /// Halide target for kernels with 8-bit integer dot products (quantized matmuls on
  /// interleaved weights); empty when the target has no fast way to do them (aarch64 for
  /// now). Only those kernels use it: with VNNI it carries Halide 14's Sapphire Rapids
  /// feature, which also tunes for that CPU, so float kernels keep `halideTarget`.
  std::string integerDotTarget;
};

/// The target named `name`, or std::nullopt (see targetNames() for the list).
std::optional<TargetInfo> findTarget(const std::string &name);
std::vector<std::string> targetNames();

/// Compiles one kiln.kernel to `objectPath`, exporting a C function `symbol` that takes
/// one halide_buffer_t* per kernel input, then one per result. Returns false and sets
/// `error` (naming the kernel) on failure.
bool compileKernel(KernelOp kernel, const std::string &symbol, const TargetInfo &target,
                   const std::string &objectPath, std::string &error);

/// Compiles the Halide runtime shared by every kernel of an artifact.
bool compileHalideRuntime(const TargetInfo &target, const std::string &objectPath,
                          std::string &error);

} // namespace kiln

#endif
