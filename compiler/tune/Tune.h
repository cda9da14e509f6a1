//===- Tune.h - `kiln tune`: plans measured on this machine -----------------===//
//
// The tuner profiles the model (the heuristic build, one run per kernel timed), gives each
// kernel a share of the time budget in proportion to its share of the run, and searches
// that kernel's plan space (TargetBackend::planSpace) starting from the heuristic plan.
// Every candidate is built into a one-kernel benchmark (KernelBench.h), checked against
// the heuristic plan's outputs and timed in a child process; the result goes to the tuning
// database (TuningDb.h) at once, so an interrupted run resumes where it stopped.
//
// Search ("local", the default): first-improvement hill climbing over one knob at a time
// from the heuristic plan, in a seeded random order, and when no single change helps,
// random two-knob jumps from the best plan. The knobs are few (5-15 per kernel) with a few
// values each, and they are nearly separable (tile shape, vector width, parallel loop, copy
// or not), so one-knob moves find most of the gain in tens of candidates, while each
// candidate costs a Halide compile (about a second): a learned cost model (Ansor,
// MetaSchedule) does not pay for itself at this sample count. "random" samples the space
// uniformly; it is the baseline bench/tune_search.sh compares against.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_COMPILER_TUNE_TUNE_H
#define KILN_COMPILER_TUNE_TUNE_H

#include "mlir/IR/BuiltinOps.h"
#include "targets/Targets.h"

#include <string>

namespace kiln {

struct TuneOptions {
  std::string dbPath;
  std::string modelPath;     // for the session record and messages
  TargetInfo target;
  double budgetSeconds = 900;
  int threads = 0;           // 0: every online CPU
  std::string search = "local";  // or "random"
  int minTimeMs = 200;       // each candidate's timed runs add up to at least this
  double minShare = 0.005;   // kernels below this share of the run are not tuned
  std::string workDir;       // empty: a temporary directory, removed at the end
  int timeoutSeconds = 0;    // per candidate run; 0: from the heuristic plan's time
  /// A command the candidates run under (split at spaces), e.g. "taskset -c 2,3" to pin
  /// them to cores; empty: run directly.
  std::string runWrapper;
  /// Measure on a farm (Farm.h): nats://HOST:PORT; empty: here.
  std::string farmUrl;
  /// The farm workers' chip to tune for (needed when workers of several chips are there).
  std::string farmChip;
  /// How long one job may take on the farm before it counts as lost.
  int farmWaitSeconds = 900;
  bool verbose = false;
};

/// Tunes the kernels of `module` (lowered for options.target); returns the exit code.
int tuneModel(mlir::ModuleOp module, const TuneOptions &options);

} // namespace kiln

#endif
