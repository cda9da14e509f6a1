//===- TuningDb.h - measurements of kernel plans, in SQLite ---------------===//
//
// `kiln tune` appends one row per measured candidate plan: the kernel (content hash), the
// target, the chip (ChipKey.h), the thread count, the Halide and kiln codegen versions, the
// plan, what happened (ok, invalid, build_failed, wrong_output, crashed, timeout) and the
// times. Rows are never changed; a UNIQUE constraint over everything that identifies a
// measurement makes "measured exactly once" a property of the file, whichever process (a
// resumed run, a farm worker's result) writes it. WAL mode, so a reader (`kiln compile
// --tuning`) never blocks a tuner. Each row goes in with the time it cost in one
// transaction, so a SIGKILL loses at most the candidate being measured. Schema:
// docs/formats.md.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_COMPILER_TUNE_TUNINGDB_H
#define KILN_COMPILER_TUNE_TUNINGDB_H

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

struct sqlite3;

namespace kiln {

/// Bumped when the meaning of a plan's fields changes (schedule templates), so that plans
/// measured against other templates are not applied.
constexpr int kKilnCodegenVersion = 1;

/// Everything that identifies a measurement except the plan.
struct MeasurementScope {
  std::string kernelKey;
  std::string target;
  std::string chip;
  int threads = 1;
  std::string halideVersion;
  int kilnCodegen = kKilnCodegenVersion;
};

struct Measurement {
  MeasurementScope scope;
  std::string kernelName;   // for people
  std::string chipFamily;
  std::string chipName;
  std::string plan;         // one plan as JSON (KernelPlan.h)
  std::string planHash;     // of `plan`
  bool heuristic = false;   // the backend's own plan
  std::string status;       // ok, invalid, build_failed, wrong_output, crashed, timeout
  double medianMs = 0, minMs = 0;
  int64_t runs = 0;
  double seconds = 0;       // wall time the measurement cost (build, check, timing)
  std::string message;      // why it failed, when it did
  std::string recordedAt;   // UTC, ISO 8601
};

/// A check of a kernel's best plan against the heuristic plan after the search: the two
/// executables run alternately (`rounds` times each) and their medians compared, because
/// the lowest of many noisy medians is biased low (the winner of many draws was partly
/// lucky).
struct Confirmation {
  MeasurementScope scope;
  std::string planHash;
  double heuristicMs = 0, planMs = 0;
  int rounds = 0;
  std::string recordedAt;
};

/// The best plan of one kernel for one target, chip and thread count.
struct TunedPlan {
  Measurement best;
  double heuristicMs = 0;   // 0: the heuristic plan was not measured
  double confirmedRatio = 0;  // plan / heuristic in its confirmation; 0: not confirmed
};

/// Per kernel, the plan to use. Where plans were confirmed (Confirmation), the confirmed plan
/// with the lowest ratio, if it beat the heuristic by at least 2% in its confirmation, else
/// none; elsewhere the fastest measured plan, kept only when it beats the heuristic's
/// measurement by at least 2% (measurement noise on a quiet machine). Sorted by target,
/// chip, threads, kernel key.
std::vector<TunedPlan> bestPlans(const std::vector<Measurement> &measurements,
                                 const std::vector<Confirmation> &confirmations = {});

class TuningDb {
public:
  /// Opens (creating when `create`) the database at `path`; std::nullptr and `error` when
  /// it cannot be opened or is not a kiln tuning database.
  static std::unique_ptr<TuningDb> open(const std::string &path, bool create, std::string &error);
  ~TuningDb();
  TuningDb(const TuningDb &) = delete;
  TuningDb &operator=(const TuningDb &) = delete;

  /// The measurement of `planHash` in `scope`, if recorded.
  std::optional<Measurement> find(const MeasurementScope &scope, const std::string &planHash);
  /// Every measurement in `scope`'s kernel, target, chip, threads and versions.
  std::vector<Measurement> inScope(const MeasurementScope &scope);
  /// Every measurement.
  std::vector<Measurement> all(std::string &error);
  /// Every confirmation, and the one of `planHash` in `scope` if there is one.
  std::vector<Confirmation> confirmations(std::string &error);
  std::optional<Confirmation> findConfirmation(const MeasurementScope &scope,
                                               const std::string &planHash);
  bool recordConfirmation(const Confirmation &c, std::string &error);
  /// Appends `m` and adds its seconds to the session's kernel, in one transaction. False
  /// with `error` on failure; a duplicate is not an error (nothing is written).
  bool record(const Measurement &m, const std::string &session, std::string &error);

  /// A tuning session: one model, target, chip and thread count. The kernels' shares of the
  /// run are fixed when the session is created, so a resumed run splits the budget the same
  /// way.
  struct SessionKernel {
    std::string kernelKey, kernelName;
    double share = 0;          // of the model's run time
    double spentSeconds = 0;
  };
  /// The session's kernels (empty when the session is new).
  std::vector<SessionKernel> sessionKernels(const std::string &session, std::string &error);
  bool createSession(const std::string &session, const std::string &model,
                     const std::vector<SessionKernel> &kernels, std::string &error);

  /// Copies every measurement of `otherPath` that this database does not have; `added` is
  /// how many.
  bool merge(const std::string &otherPath, int64_t &added, std::string &error);

private:
  TuningDb() = default;
  bool exec(const char *sql, std::string &error);
  sqlite3 *db = nullptr;
  std::string path;
};

/// Writes the best plans as JSON (sorted, one entry per kernel, target, chip and thread
/// count; docs/formats.md).
std::string tunedPlansJson(const std::vector<TunedPlan> &plans);
/// Reads that JSON back into measurements (the best of each kernel), for `kiln compile
/// --tuning FILE.json`.
std::optional<std::vector<Measurement>> measurementsFromJson(const std::string &text,
                                                             std::string &error);

} // namespace kiln

#endif
