//===- Farm.h - measurement jobs over NATS JetStream ------------------------===//
//
// A tuning farm: `kiln tune --farm nats://HOST:PORT` builds candidates (cross-compiled for
// the target where needed) and publishes each as a job on the work-queue stream
// KILN_TUNE_JOBS, subject kiln.tune.jobs.CHIP (CHIP: 16 hex digits of the chip key's hash);
// `kiln-worker --farm ...` on each device pulls jobs for its own chip through one durable
// consumer per chip (so a job goes to one worker), runs the benchmark, publishes the result
// on the stream KILN_TUNE_RESULTS, subject kiln.tune.results.SESSION, and acks the job.
// While a job runs the worker sends in-progress acks, so AckWait can be short; a worker that
// dies leaves its job unacked and JetStream redelivers it to another worker after AckWait;
// a job that has been delivered MaxDeliver times (it kills or stalls every worker that takes
// it) is dropped and the coordinator, told by JetStream's advisory, records it as crashed.
// Results carry everything needed to record them, so a restarted coordinator first records
// the results the stream holds, then continues the search from the database. Workers
// announce their chip every few seconds on kiln.tune.workers (core NATS).
//
// Payloads (docs/formats.md): a job is "KILNJOB1\n", one JSON header line, then the files
// it lists (executable, weights, inputs, reference outputs) back to back; a result is JSON.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_COMPILER_TUNE_FARM_H
#define KILN_COMPILER_TUNE_FARM_H

#include "compiler/tune/ChipKey.h"
#include "compiler/tune/TuningDb.h"

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace kiln {

/// The subject token for a chip key.
std::string chipToken(const std::string &chipKey);

/// One file of a job.
struct JobFile {
  std::string name;      // relative path in the job's directory ("kernel", "reference/out0.npy")
  std::string bytes;
  bool executable = false;
};

struct Job {
  std::string id;        // 16 hex digits: the measurement's scope and plan
  std::string session;   // where the result goes
  Measurement identity;  // what the result will be recorded as (scope but chip, plan, ...)
  int threads = 1, minTimeMs = 200, timeoutSeconds = 60;
  std::vector<bool> float32Outputs;
  std::vector<std::string> inputs;  // NAME=FILE
  std::vector<JobFile> files;
};

std::string encodeJob(const Job &job);
std::optional<Job> decodeJob(const std::string &payload, std::string &error);
std::string encodeResult(const Measurement &m, const std::string &jobId,
                         const std::string &session, const std::string &worker);
std::optional<Measurement> decodeResult(const std::string &payload, std::string &jobId,
                                        std::string &error);

/// A worker's announcement on kiln.tune.workers.
struct WorkerInfo {
  std::string worker;  // host:pid
  ChipKey chip;
};

/// A connection to the farm's NATS server with its JetStream context.
class Farm {
public:
  /// Connects to `url` and makes sure both streams exist; null and `error` on failure.
  static std::unique_ptr<Farm> connect(const std::string &url, std::string &error);
  ~Farm();
  Farm(const Farm &) = delete;
  Farm &operator=(const Farm &) = delete;

  // Coordinator.
  /// Workers heard within `seconds` (waits for the first up to `seconds`, then 3 s more).
  std::vector<WorkerInfo> listenForWorkers(int seconds, std::string &error);
  /// Starts reading the session's results (durable, so a restarted coordinator gets the
  /// ones it missed) and the max-deliveries advisories of `chip`'s consumer.
  bool openSession(const std::string &session, const std::string &chip, std::string &error);
  /// Publishes a job; `sequence` is its stream sequence (for the advisories).
  bool publishJob(const std::string &chip, const Job &job, uint64_t &sequence, std::string &error);
  /// Waits up to `seconds` for results. Every result that arrives is passed to `onResult`
  /// (and acked after it returns true); a job dropped after MaxDeliver is reported by its
  /// stream sequence to `onDropped`. Returns when `done()` is true or time is up.
  bool awaitResults(int seconds, const std::function<bool(const Measurement &, const std::string &)> &onResult,
                    const std::function<void(uint64_t)> &onDropped,
                    const std::function<bool()> &done, std::string &error);

  // Worker.
  /// Runs jobs for this machine's chip until `stop()` (checked between jobs) is true.
  int work(int ackWaitSeconds, int maxDeliver, const std::string &workDir,
           const std::string &runWrapper, const std::function<bool()> &stop);

private:
  Farm() = default;
  struct State;
  std::unique_ptr<State> state;
};

} // namespace kiln

#endif
