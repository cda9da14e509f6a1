//===- Tuning.h - tuned plans for `kiln compile --tuning` -----------------===//
//
// `kiln compile --tuning FILE` reads a tuning database or its JSON export and, per kernel,
// takes the best plan measured for the target on this exact chip, else on a chip of the
// same family, else leaves the kernel to the backend's heuristic. Where several thread
// counts were measured, the most threads win (deployments use every core). The choice
// depends only on the file and the machine's chip key, so the same inputs and tuning file
// give the same bytes.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_COMPILER_TUNE_TUNING_H
#define KILN_COMPILER_TUNE_TUNING_H

#include "compiler/tune/ChipKey.h"
#include "mlir/IR/BuiltinOps.h"
#include "targets/Targets.h"

#include <map>
#include <optional>
#include <string>

namespace kiln {

struct TuningChoice {
  PlanFile plans;                         // by kernel key
  std::map<std::string, bool> exactChip;  // kernel key -> measured on this very chip
  ChipKey chip;                           // this machine
  std::string source;                     // the file, for messages
  std::set<std::string> chipNames;        // the chips the chosen plans were measured on
};

/// Reads `path` (SQLite database or JSON export) and chooses plans for `target` on this
/// machine's chip; std::nullopt and `error` when the file cannot be read.
std::optional<TuningChoice> readTuning(const std::string &path, const TargetInfo &target,
                                       std::string &error);

/// "12 of 40 kernels took a tuned plan (10 measured on this chip, AMD EPYC 9R14; 2 on
/// its family)" for the kernels of `module`.
std::string describeTuningUse(const TuningChoice &choice, mlir::ModuleOp module,
                              const TargetInfo &target);

} // namespace kiln

#endif
