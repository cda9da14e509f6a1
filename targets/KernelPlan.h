//===- KernelPlan.h - every schedule decision of one kernel, as plain data ===//
//
// A KernelPlan is what a backend decides for one kernel: per stage of the algorithm the
// schedule template and its knobs (register tile, vector width, parallel loop, where a
// staging copy is computed, GPU thread tiles). Backends produce plans with heuristics and
// apply them to the algorithm; `kiln compile --emit-plans` writes them as JSON keyed by the
// kernel's content hash and `kiln compile --plans` reads them back, which is the seam a
// tuner writes through. docs/formats.md describes the JSON.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_TARGETS_KERNELPLAN_H
#define KILN_TARGETS_KERNELPLAN_H

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace kiln {

/// The decisions for one stage of a kernel (KernelAlgorithm::stages, in order).
struct StagePlan {
  /// The stage's class ("conv", "matmul", "depthwise", ...): checked against the kernel,
  /// so a plan written for another kernel is refused.
  std::string kind;
  /// The schedule template. CPU: "register_tiles" (a contraction in register tiles at the
  /// kernel output), "across_channels" (vectors across output channels), "integer_dot",
  /// "winograd", "root" (computed whole, vectorized and parallel), "in_consumer" (decoded
  /// weights left to their contraction), "per_channel", "rolling" (a bordered plane made
  /// per output channel, or a few rows at a time). GPU: "gpu_tiles", "inline".
  std::string schedule;
  int64_t vectorLanes = 0;  // float32 lanes of the stage's vectors (0: not vectorized)
  int64_t columns = 0;      // register tile along the contiguous axis (elements)
  int64_t rows = 0;         // register tile along the row axis
  int64_t rowDim = -1;      // the row axis (Halide dimension) of a register tile
  bool parallel = false;    // the template's parallel loop is on
  int64_t threadsX = 0;     // GPU: threads per block along dimension 0
  int64_t threadsY = 0;     // GPU: threads per block along dimension 1
  bool operator==(const StagePlan &other) const;
};

struct KernelPlan {
  std::string backend;  // family that wrote it ("x86", "arm", "cuda", "opencl", "metal")
  std::string kernel;   // kernel name in the compiled module, for people and messages
  std::string key;      // content hash of the kernel region and target
  int64_t vectorLanes = 0;
  bool parallel = true;
  std::vector<StagePlan> stages;
  /// How the kernel's outputs are scheduled when no contraction template took them:
  /// "root" (vectorized, parallel), "by_stage" (a stage's template tiles the output),
  /// "gpu_tiles".
  std::string outputs = "root";
  int64_t outputThreadsX = 0, outputThreadsY = 0;
  bool operator==(const KernelPlan &other) const;
};

/// One knob of a plan a tuner may turn: a field of a stage (stage -1: of the kernel) and
/// the values worth trying, the plan's own value first. Values are text: a schedule name,
/// or an integer ("0"/"1" for parallel). Knobs are judged one at a time; combinations a
/// kernel cannot take are refused when the plan is applied (the tuner records them as
/// invalid), so a backend lists values without modelling every constraint.
struct PlanKnob {
  int stage = -1;
  std::string field;  // "schedule", "vector_lanes", "columns", "rows", "parallel"
  std::vector<std::string> values;
};

/// `plan` with `knob` at values[index]. A schedule change also gives the new template its
/// default knobs (register tiles: row axis 2, one vector by 8 rows; across channels: two
/// vectors).
KernelPlan withKnob(const KernelPlan &plan, const PlanKnob &knob, size_t index);

/// Plans by key, read from or written to a JSON file.
class PlanFile {
public:
  /// Reads `path`; on failure returns std::nullopt and sets `error` (file, and the plan
  /// or field that is wrong).
  static std::optional<PlanFile> read(const std::string &path, std::string &error);
  /// Writes every plan sorted by key; false and `error` on failure.
  bool write(const std::string &path, std::string &error) const;
  std::string toJson() const;
  static std::optional<PlanFile> fromJson(const std::string &text, std::string &error);

  const KernelPlan *find(const std::string &key) const;
  void add(const KernelPlan &plan) { plans[plan.key] = plan; }
  size_t size() const { return plans.size(); }

private:
  std::map<std::string, KernelPlan> plans;
};

/// One plan as JSON text (used in object cache keys).
std::string planJson(const KernelPlan &plan);

} // namespace kiln

#endif
