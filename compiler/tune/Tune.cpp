//===- Tune.cpp - profile, split the budget, search each kernel's plans ---===//
#include "compiler/tune/Tune.h"

#include "compiler/codegen/Artifact.h"
#include "compiler/codegen/ObjectCache.h"
#include "compiler/tune/ChipKey.h"
#include "compiler/tune/Farm.h"
#include "compiler/tune/KernelBench.h"
#include "compiler/tune/TuningDb.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <thread>

#ifndef KILN_HALIDE_VERSION
#error "CMake passes Halide's version"
#endif

using namespace mlir;

namespace kiln {
namespace {

constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

double secondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::string format(const char *fmt, double value) {
  char text[64];
  snprintf(text, sizeof text, fmt, value);
  return text;
}

/// Whether executables for `target` run on this machine (kiln tune times them here).
std::string runsHereProblem(const TargetInfo &target, const ChipKey &chip) {
  RuntimeNeeds needs = target.backend->runtimeNeeds(target);
  if (needs.api != DeviceApi::None)
    return "GPU targets are not tuned yet (kiln tune measures CPU kernels on this machine)";
  if (target.freestanding || needs.packaging != ArtifactPackaging::Executable)
    return "its executables do not run on this machine";
  std::string arch = chip.family.substr(0, chip.family.find('/'));
  bool same = targetMachineArch(target) == arch;
  if (!same)
    return "its code does not run on this " + arch + " machine (tune on the target's own "
           "machine and merge the databases)";
  return "";
}

/// Everything one kernel's search needs.
struct KernelTuning {
  KernelOp kernel;
  std::string key, name;
  double share = 0;
  double budgetSeconds = 0, spentSeconds = 0;
};

class Tuner {
public:
  Tuner(const TuneOptions &options, TuningDb &db, const ChipKey &chip, int threads,
        std::string session, Farm *farm, int farmWorkers)
      : options(options), db(db), chip(chip), threads(threads), session(std::move(session)),
        farm(farm), batchSize(farm ? std::max(1, farmWorkers) : 1) {}

  /// Searches one kernel's plans until its budget is spent or its space exhausted.
  /// Returns false only on a database error.
  bool tune(const KernelTuning &k, int index, int count);

  struct Result {
    std::string name;
    double share = 0, heuristicMs = 0, bestMs = 0;
    int measured = 0;
  };
  std::vector<Result> results;

private:
  /// What one candidate gave: its median, or nothing (refused, failed, wrong).
  struct Outcome {
    bool stop = false;  // out of time
    std::optional<double> ms;
  };
  Outcome evaluate(const std::vector<size_t> &choice);
  KernelPlan planFor(const std::vector<size_t> &choice) const;
  bool buildKernel(const std::string &dir, const PlanFile *plans, std::string &error);
  /// Times the candidate built in `builtDir` here or on the farm; fills m's status and times.
  void measure(const std::string &builtDir, const std::string &outputDir, Measurement &m);
  void measureOnFarm(const std::string &builtDir, Measurement &m);
  /// A candidate published on the farm and not yet back.
  struct FarmJob {
    Measurement m;
    std::string id;
    uint64_t sequence = 0;
    double buildSeconds = 0, workerSeconds = 0;
    size_t index = 0;  // in the batch
    bool done = false;
  };
  bool publishCandidate(const std::string &builtDir, FarmJob &pending);
  void collectFarmResults(std::vector<FarmJob> &jobs);
  /// Evaluates several plans; on a farm they are measured at once, by different workers.
  std::vector<Outcome> evaluateBatch(const std::vector<std::vector<size_t>> &choices);
  /// Records a finished measurement (and remembers it); false on a database error.
  std::optional<double> finish(const Measurement &m);
  Measurement candidateMeasurement(const std::string &json, const std::string &hash) const;
  int timeoutSeconds() const;
  /// Runs the heuristic plan and `plan` alternately, records the confirmation; the plan's
  /// time relative to the heuristic's (1 when it could not be run).
  double confirm(const KernelPlan &plan, const std::string &hash);
  /// One line: kernel, candidates, best so far, time left (`final`: the kernel's last).
  void progress(bool final);

  const TuneOptions &options;
  TuningDb &db;
  const ChipKey &chip;
  int threads;
  std::string session;
  Farm *farm;  // null: candidates run here
  size_t batchSize;  // plans measured at once (the farm's workers)

  // The kernel being tuned.
  const KernelTuning *current = nullptr;
  int currentIndex = 0, currentCount = 0;
  OwningOpRef<ModuleOp> module;
  std::string dir;
  std::vector<std::string> inputArgs;
  KernelPlan heuristic;
  std::vector<PlanKnob> knobs;
  MeasurementScope scope;
  double heuristicMs = 0, bestMs = 0;
  std::chrono::steady_clock::time_point deadline;
  std::map<std::string, std::optional<double>> seen;  // plan hash -> median
  int measuredHere = 0, known = 0;
  std::string lastError;
  bool dbFailed = false;
};

KernelPlan Tuner::planFor(const std::vector<size_t> &choice) const {
  KernelPlan plan = heuristic;
  for (size_t i = 0; i < knobs.size(); ++i)
    if (choice[i] != 0)
      plan = withKnob(plan, knobs[i], choice[i]);
  return plan;
}

bool Tuner::buildKernel(const std::string &outDir, const PlanFile *plans, std::string &error) {
  ArtifactOptions artifact;
  artifact.outputPath = outDir + "/kernel";
  artifact.modelName = "kernel";
  artifact.sourceName = current->name;
  artifact.target = options.target;
  artifact.plans = plans;
  artifact.quiet = true;
  if (!plans)
    artifact.emitPlansPath = outDir + "/plans.json";
  return buildArtifact(*module, artifact, error);
}

void Tuner::progress(bool final) {
  auto left = std::chrono::duration<double>(deadline - std::chrono::steady_clock::now()).count();
  llvm::errs() << "[tune] " << currentIndex << "/" << currentCount << " " << current->name
               << " (" << format("%.1f", 100 * current->share) << "% of the run): "
               << measuredHere + known << " candidates, best " << format("%.4f", bestMs)
               << " ms (heuristic " << format("%.4f", heuristicMs) << " ms, "
               << format("%+.1f%%", heuristicMs > 0 ? 100 * (bestMs / heuristicMs - 1) : 0)
               << "), " << (final ? "done" : format("%.0f", std::max(0.0, left)) + " s left")
               << "\n";
}

int Tuner::timeoutSeconds() const {
  return options.timeoutSeconds > 0 ? options.timeoutSeconds
                                    : 10 + int((options.minTimeMs + 40 * heuristicMs) * 20 / 1000);
}

void Tuner::measure(const std::string &builtDir, const std::string &outputDir, Measurement &m) {
  if (farm) {
    measureOnFarm(builtDir, m);
    return;
  }
  RunRequest request;
  request.executable = builtDir + "/kernel";
  request.inputArgs = inputArgs;
  request.outputDir = outputDir;
  request.threads = threads;
  request.minTimeMs = options.minTimeMs;
  request.timeoutSeconds = timeoutSeconds();
  request.wrapper = options.runWrapper;
  KernelRun run = runKernelBenchmark(request);
  m.message = run.message;
  switch (run.outcome) {
  case KernelRun::Outcome::Ok: {
    std::string difference =
        compareKernelOutputs(float32Outputs(*module), dir + "/reference", outputDir);
    if (difference.empty()) {
      m.status = "ok";
      m.medianMs = run.medianMs;
      m.minMs = run.minMs;
      m.runs = run.runs;
    } else {
      m.status = "wrong_output";
      m.message = difference;
    }
    break;
  }
  case KernelRun::Outcome::Crashed: m.status = "crashed"; break;
  case KernelRun::Outcome::TimedOut: m.status = "timeout"; break;
  case KernelRun::Outcome::Failed: m.status = "run_failed"; break;
  }
}

bool Tuner::publishCandidate(const std::string &builtDir, FarmJob &pending) {
  Measurement &m = pending.m;
  Job job;
  job.id = contentHash("job\n" + m.scope.kernelKey + "\n" + m.scope.target + "\n" +
                       m.scope.chip + "\n" + std::to_string(m.scope.threads) + "\n" +
                       m.scope.halideVersion + "\n" + m.planHash)
               .substr(0, 16);
  job.session = session;
  job.identity = m;
  job.threads = threads;
  job.minTimeMs = options.minTimeMs;
  job.timeoutSeconds = timeoutSeconds();
  job.float32Outputs = float32Outputs(*module);
  auto add = [&](const std::string &path, const std::string &name, bool executable) {
    auto bytes = llvm::MemoryBuffer::getFile(path);
    if (!bytes)
      return false;
    job.files.push_back({name, (*bytes)->getBuffer().str(), executable});
    return true;
  };
  bool ok = add(builtDir + "/kernel", "kernel", true) &&
            add(builtDir + "/kernel.gguf", "kernel.gguf", false);
  for (size_t i = 0; ok && i + 1 < inputArgs.size(); i += 2) {
    auto [name, path] = llvm::StringRef(inputArgs[i + 1]).split('=');
    ok = add(path.str(), name.str() + ".npy", false);
    job.inputs.push_back(name.str() + "=" + name.str() + ".npy");
  }
  for (size_t i = 0; ok && i < job.float32Outputs.size(); ++i) {
    std::string name = "out" + std::to_string(i) + ".npy";
    ok = add(dir + "/reference/" + name, "reference/" + name, false);
  }
  std::string error;
  pending.id = job.id;
  if (!ok || !farm->publishJob(chip.key, job, pending.sequence, error)) {
    m.status = "run_failed";
    m.message = ok ? error : "cannot read the built candidate in " + builtDir;
    pending.done = true;
    return false;
  }
  return true;
}

void Tuner::collectFarmResults(std::vector<FarmJob> &jobs) {
  auto open = [&] {
    return std::count_if(jobs.begin(), jobs.end(), [](const FarmJob &j) { return !j.done; });
  };
  std::string error;
  farm->awaitResults(
      options.farmWaitSeconds,
      [&](const Measurement &result, const std::string &jobId) {
        bool mine = false;
        for (FarmJob &job : jobs)
          if (!job.done && job.id == jobId) {
            job.m.status = result.status;
            job.m.message = result.message;
            job.m.medianMs = result.medianMs;
            job.m.minMs = result.minMs;
            job.m.runs = result.runs;
            job.workerSeconds = result.seconds;
            job.done = mine = true;
          }
        // Another job's result (one a previous coordinator published): recorded as it is.
        return mine || db.record(result, session, lastError);
      },
      [&](uint64_t sequence) {
        for (FarmJob &job : jobs)
          if (!job.done && job.sequence == sequence) {
            job.m.status = "crashed";
            job.m.message = "dropped by the farm after its maximum deliveries (it killed or "
                            "stalled every worker that took it)";
            job.done = true;
          }
      },
      [&] { return open() == 0; }, error);
  for (FarmJob &job : jobs)
    if (!job.done) {
      job.m.status = "timeout";
      job.m.message = "no worker returned a result within " +
                      std::to_string(options.farmWaitSeconds) + " s" +
                      (error.empty() ? "" : " (" + error + ")");
      job.done = true;
    }
}

void Tuner::measureOnFarm(const std::string &builtDir, Measurement &m) {
  std::vector<FarmJob> jobs(1);
  jobs[0].m = m;
  if (publishCandidate(builtDir, jobs[0]))
    collectFarmResults(jobs);
  m = jobs[0].m;
}

double Tuner::confirm(const KernelPlan &plan, const std::string &hash) {
  if (auto recorded = db.findConfirmation(scope, hash))
    return recorded->planMs / recorded->heuristicMs;
  constexpr int kRounds = 3;
  PlanFile plans;
  plans.add(plan);
  std::string error, planDir = dir + "/confirm";
  if (!buildKernel(planDir, &plans, error))
    return 1.0;
  std::vector<double> times[2];
  for (int round = 0; round < kRounds; ++round)
    for (int side = 0; side < 2; ++side) {
      // Alternating, the order flipping every round, so drift hits both alike.
      int which = (round % 2) ? 1 - side : side;
      RunRequest request;
      request.executable = (which == 0 ? dir + "/heuristic" : planDir) + "/kernel";
      request.inputArgs = inputArgs;
      request.outputDir = dir + "/confirm-out";
      request.threads = threads;
      request.minTimeMs = options.minTimeMs;
      request.timeoutSeconds = timeoutSeconds();
      request.wrapper = options.runWrapper;
      llvm::sys::fs::remove_directories(request.outputDir);
      KernelRun run = runKernelBenchmark(request);
      if (run.outcome != KernelRun::Outcome::Ok)
        return 1.0;
      times[which].push_back(run.medianMs);
    }
  for (auto &t : times)
    std::sort(t.begin(), t.end());
  Confirmation c;
  c.scope = scope;
  c.planHash = hash;
  c.heuristicMs = times[0][kRounds / 2];
  c.planMs = times[1][kRounds / 2];
  c.rounds = kRounds;
  if (!db.recordConfirmation(c, lastError)) {
    dbFailed = true;
    return 1.0;
  }
  return c.planMs / c.heuristicMs;
}

Measurement Tuner::candidateMeasurement(const std::string &json, const std::string &hash) const {
  Measurement m;
  m.scope = scope;
  m.kernelName = current->name;
  m.chipFamily = chip.family;
  m.chipName = chip.name;
  m.plan = json;
  m.planHash = hash;
  return m;
}

std::optional<double> Tuner::finish(const Measurement &m) {
  if (!db.record(m, session, lastError)) {
    dbFailed = true;
    return std::nullopt;
  }
  ++measuredHere;
  std::optional<double> ms;
  if (m.status == "ok")
    ms = m.medianMs;
  seen[m.planHash] = ms;
  if (options.verbose)
    llvm::errs() << "[tune]   measured " << m.planHash << ": " << m.status
                 << (m.status == "ok" ? " " + format("%.4f", m.medianMs) + " ms"
                                      : ": " + llvm::StringRef(m.message).split('\n').first.str())
                 << "\n";
  return ms;
}

Tuner::Outcome Tuner::evaluate(const std::vector<size_t> &choice) {
  return evaluateBatch({choice}).front();
}

std::vector<Tuner::Outcome> Tuner::evaluateBatch(const std::vector<std::vector<size_t>> &choices) {
  std::vector<Outcome> outcomes(choices.size());
  std::vector<FarmJob> jobs;
  std::map<std::string, size_t> jobOfHash;  // one plan twice in a batch: one job
  std::vector<std::pair<size_t, std::string>> sameAs;
  for (size_t i = 0; i < choices.size(); ++i) {
    KernelPlan plan = planFor(choices[i]);
    std::string json = planJson(plan);
    std::string hash = contentHash(json).substr(0, 16);
    if (auto it = seen.find(hash); it != seen.end()) {
      outcomes[i] = {false, it->second};
      continue;
    }
    if (auto recorded = db.find(scope, hash)) {
      ++known;
      std::optional<double> ms;
      if (recorded->status == "ok")
        ms = recorded->medianMs;
      seen[hash] = ms;
      outcomes[i] = {false, ms};
      continue;
    }
    if (jobOfHash.count(hash)) {
      sameAs.push_back({i, hash});
      continue;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      outcomes[i] = {true, std::nullopt};
      break;
    }
    auto start = std::chrono::steady_clock::now();
    Measurement m = candidateMeasurement(json, hash);
    PlanFile plans;
    plans.add(plan);
    std::string error, candidateDir = dir + "/candidate", outputDir = dir + "/candidate-out";
    llvm::sys::fs::remove_directories(outputDir);
    bool built = buildKernel(candidateDir, &plans, error);
    if (!built) {
      m.status = error.find("does not fit") != std::string::npos ? "invalid" : "build_failed";
      m.message = error.substr(0, 2000);
    } else if (!farm) {
      measure(candidateDir, outputDir, m);
    } else {
      // Published now (its files are read into the job), collected with the others.
      FarmJob job;
      job.m = m;
      job.index = i;
      job.buildSeconds = secondsSince(start);
      if (publishCandidate(candidateDir, job)) {
        jobOfHash[hash] = jobs.size();
        jobs.push_back(std::move(job));
        continue;
      }
      m = job.m;
    }
    m.seconds = secondsSince(start);
    std::optional<double> ms = finish(m);
    if (dbFailed)
      return {choices.size(), Outcome{true, std::nullopt}};
    outcomes[i] = {false, ms};
  }
  if (!jobs.empty()) {
    collectFarmResults(jobs);
    for (FarmJob &job : jobs) {
      // Budget: building here plus measuring there (jobs overlap on several workers).
      job.m.seconds = job.buildSeconds + job.workerSeconds;
      std::optional<double> ms = finish(job.m);
      if (dbFailed)
        return {choices.size(), Outcome{true, std::nullopt}};
      outcomes[job.index] = {false, ms};
    }
  }
  for (const auto &[i, hash] : sameAs)
    outcomes[i] = {false, seen[hash]};
  return outcomes;
}

bool Tuner::tune(const KernelTuning &k, int index, int count) {
  current = &k;
  currentIndex = index;
  currentCount = count;
  seen.clear();
  measuredHere = known = 0;
  std::string error;
  dir = options.workDir + "/" + k.key.substr(0, 16);
  llvm::sys::fs::create_directories(dir);
  auto start = std::chrono::steady_clock::now();
  double remaining = k.budgetSeconds - k.spentSeconds;
  deadline = start + std::chrono::milliseconds(int64_t(std::max(0.0, remaining) * 1000));
  auto skip = [&](const std::string &why) {
    llvm::errs() << "[tune] " << index << "/" << count << " " << k.name << ": skipped: " << why
                 << "\n";
    return true;
  };
  auto layout = options.target.backend->layoutOptions(options.target);
  module = extractKernel(k.kernel, layout.arenaAlignment, error);
  if (!module)
    return skip(error);
  inputArgs.clear();
  if (!writeKernelInputs(*module, dir, inputArgs, error))
    return skip(error);
  // The heuristic plan: built, its outputs the reference, its time the baseline.
  std::string heuristicDir = dir + "/heuristic";
  if (!buildKernel(heuristicDir, nullptr, error))
    return skip("the heuristic plan does not build: " + error);
  std::optional<PlanFile> planFile = PlanFile::read(heuristicDir + "/plans.json", error);
  const KernelPlan *plan = planFile ? planFile->find(k.key) : nullptr;
  if (!plan)
    return skip("no heuristic plan came back" + (error.empty() ? "" : ": " + error));
  heuristic = *plan;
  scope.kernelKey = k.key;
  scope.target = options.target.name;
  scope.chip = chip.key;
  scope.threads = threads;
  scope.halideVersion = KILN_HALIDE_VERSION;
  scope.kilnCodegen = kKilnCodegenVersion;
  std::string referenceDir = dir + "/reference";
  llvm::sys::fs::remove_directories(referenceDir);
  RunRequest request;
  request.executable = heuristicDir + "/kernel";
  request.inputArgs = inputArgs;
  request.outputDir = referenceDir;
  request.threads = threads;
  request.minTimeMs = farm ? 1 : options.minTimeMs;  // on a farm, here only for the outputs
  request.timeoutSeconds = 600;
  request.wrapper = farm ? "" : options.runWrapper;
  KernelRun baseline = runKernelBenchmark(request);
  if (baseline.outcome != KernelRun::Outcome::Ok)
    return skip("the heuristic plan does not run: " + baseline.message);
  std::string json = planJson(heuristic);
  std::string hash = contentHash(json).substr(0, 16);
  if (auto recorded = db.find(scope, hash); recorded && recorded->status == "ok") {
    heuristicMs = recorded->medianMs;
    ++known;
  } else {
    Measurement m;
    m.scope = scope;
    m.kernelName = k.name;
    m.chipFamily = chip.family;
    m.chipName = chip.name;
    m.plan = json;
    m.planHash = hash;
    m.heuristic = true;
    m.status = "ok";
    m.medianMs = baseline.medianMs;
    m.minMs = baseline.minMs;
    m.runs = baseline.runs;
    if (farm) {
      heuristicMs = baseline.medianMs;  // sets the job's timeout
      measure(heuristicDir, dir + "/heuristic-out", m);
      if (m.status != "ok")
        return skip("the heuristic plan failed on the farm: " + m.status + ": " + m.message);
    }
    m.seconds = secondsSince(start);
    if (!db.record(m, session, lastError))
      return false;
    heuristicMs = m.medianMs;
    ++measuredHere;
  }
  seen[hash] = heuristicMs;
  bestMs = heuristicMs;
  knobs = options.target.backend->planSpace(heuristic, options.target);
  Result result{k.name, k.share, heuristicMs, heuristicMs, 0};
  if (knobs.empty()) {
    results.push_back(result);
    return skip("its plan has no knobs to turn");
  }
  double spaceSize = 1;
  for (const PlanKnob &knob : knobs)
    spaceSize *= double(knob.values.size());
  std::seed_seq seed(k.key.begin(), k.key.end());
  std::mt19937_64 rng(seed);
  std::vector<size_t> best(knobs.size(), 0);
  auto better = [&](const Outcome &o) { return o.ms && *o.ms < bestMs * 0.99; };
  auto randomValue = [&](size_t knob) {
    return size_t(std::uniform_int_distribution<size_t>(0, knobs[knob].values.size() - 1)(rng));
  };
  size_t lastSeen = seen.size();
  bool stop = false;
  if (options.search == "random") {
    int misses = 0;
    while (!stop && double(seen.size()) < spaceSize && misses < 1000) {
      std::vector<std::vector<size_t>> chunk(batchSize, std::vector<size_t>(knobs.size()));
      for (std::vector<size_t> &choice : chunk)
        for (size_t i = 0; i < knobs.size(); ++i)
          choice[i] = randomValue(i);
      size_t before = seen.size();
      std::vector<Outcome> outcomes = evaluateBatch(chunk);
      misses = seen.size() == before ? misses + 1 : 0;
      for (size_t k = 0; k < outcomes.size(); ++k) {
        stop |= outcomes[k].stop;
        if (!outcomes[k].stop && better(outcomes[k])) {
          best = chunk[k];
          bestMs = *outcomes[k].ms;
        }
      }
      if (seen.size() != lastSeen && measuredHere > 0)
        progress(false), lastSeen = seen.size();
    }
  } else {
    while (!stop) {
      // First improvement among the one-knob moves from the best plan, in a seeded order.
      std::vector<std::pair<size_t, size_t>> moves;
      for (size_t i = 0; i < knobs.size(); ++i)
        for (size_t v = 0; v < knobs[i].values.size(); ++v)
          if (v != best[i])
            moves.push_back({i, v});
      std::shuffle(moves.begin(), moves.end(), rng);
      bool moved = false;
      // In chunks of batchSize (1 here; the workers' count on a farm), the best
      // improvement of a chunk taken: with one at a time, first improvement.
      for (size_t first = 0; first < moves.size() && !stop && !moved; first += batchSize) {
        std::vector<std::vector<size_t>> chunk;
        for (size_t k = first; k < moves.size() && k < first + batchSize; ++k) {
          chunk.push_back(best);
          chunk.back()[moves[k].first] = moves[k].second;
        }
        std::vector<Outcome> outcomes = evaluateBatch(chunk);
        if (seen.size() != lastSeen)
          progress(false), lastSeen = seen.size();
        size_t winner = chunk.size();
        for (size_t k = 0; k < outcomes.size(); ++k) {
          stop |= outcomes[k].stop;
          if (!outcomes[k].stop && better(outcomes[k]) &&
              (winner == chunk.size() || *outcomes[k].ms < *outcomes[winner].ms))
            winner = k;
        }
        if (winner < chunk.size()) {
          best = chunk[winner];
          bestMs = *outcomes[winner].ms;
          moved = true;
        }
      }
      if (stop || moved)
        continue;
      // A local optimum: jump two knobs at random from it, to a plan not measured yet.
      bool jumped = false;
      for (int attempt = 0; attempt < 200 && !jumped && knobs.size() >= 2; ++attempt) {
        std::vector<size_t> choice = best;
        size_t a = std::uniform_int_distribution<size_t>(0, knobs.size() - 1)(rng);
        size_t b = std::uniform_int_distribution<size_t>(0, knobs.size() - 2)(rng);
        b += b >= a;
        choice[a] = randomValue(a);
        choice[b] = randomValue(b);
        if (seen.count(contentHash(planJson(planFor(choice))).substr(0, 16)))
          continue;
        jumped = true;
        Outcome o = evaluate(choice);
        stop = o.stop;
        if (seen.size() != lastSeen)
          progress(false), lastSeen = seen.size();
        if (better(o)) {
          best = choice;
          bestMs = *o.ms;
        }
      }
      if (!jumped)
        break;  // every plan near the best is measured
    }
  }
  if (dbFailed)
    return false;
  // The best of many noisy medians is biased low: confirm it against the heuristic in
  // alternating runs (here; a farm's results are taken as measured), and if it does not
  // hold up, the runner-up.
  if (!farm && bestMs < 0.98 * heuristicMs) {
    std::vector<std::pair<double, std::string>> ranked;
    for (const Measurement &m : db.inScope(scope))
      if (m.status == "ok" && !m.heuristic && m.medianMs < 0.98 * heuristicMs)
        ranked.push_back({m.medianMs, m.planHash});
    std::sort(ranked.begin(), ranked.end());
    for (size_t i = 0; i < ranked.size() && i < 2; ++i) {
      std::optional<Measurement> m = db.find(scope, ranked[i].second);
      std::string planError;
      auto one = m ? PlanFile::fromJson("{\"format\": \"kiln-plans\", \"version\": 1, "
                                        "\"plans\": [" + m->plan + "]}", planError)
                   : std::nullopt;
      const KernelPlan *plan = one ? one->find(scope.kernelKey) : nullptr;
      if (!plan)
        continue;
      double ratio = confirm(*plan, ranked[i].second);
      llvm::errs() << "[tune] " << current->name << ": confirmed plan " << ranked[i].second
                   << " at " << format("%.3f", ratio) << " of the heuristic's time"
                   << (ratio <= 0.98 ? "" : " (not kept)") << "\n";
      if (ratio <= 0.98) {
        bestMs = heuristicMs * ratio;
        break;
      }
      bestMs = heuristicMs;
    }
    if (dbFailed)
      return false;
  }
  result.bestMs = bestMs;
  result.measured = int(seen.size());
  results.push_back(result);
  progress(true);
  return true;
}

/// The model's run split by kernel key: each key's share of the profiled time.
bool profileModel(ModuleOp module, const TuneOptions &options, int threads,
                  std::map<std::string, double> &shareOfKey, std::string &error) {
  std::string dir = options.workDir + "/model";
  llvm::sys::fs::create_directories(dir);
  llvm::errs() << "[tune] profiling " << options.modelPath << " (heuristic plans, " << threads
               << " thread" << (threads == 1 ? "" : "s") << ")\n";
  ArtifactOptions artifact;
  artifact.outputPath = dir + "/model";
  artifact.modelName = "model";
  artifact.sourceName = llvm::sys::path::filename(options.modelPath).str();
  artifact.target = options.target;
  if (!buildArtifact(module, artifact, error))
    return false;
  std::vector<std::string> inputArgs;
  if (!writeKernelInputs(module, dir, inputArgs, error))
    return false;
  std::vector<std::string> argv = {dir + "/model"};
  argv.insert(argv.end(), inputArgs.begin(), inputArgs.end());
  for (const char *arg : {"--profile", "--bench", "5", "--min-time", "1000", "--threads"})
    argv.push_back(arg);
  argv.push_back(std::to_string(threads));
  std::vector<llvm::StringRef> args(argv.begin(), argv.end());
  std::string log = dir + "/profile.txt", message;
  std::optional<llvm::StringRef> redirects[] = {llvm::StringRef(""), llvm::StringRef(log),
                                                llvm::StringRef(log)};
  int rc = llvm::sys::ExecuteAndWait(argv[0], args, std::nullopt, redirects, 3600, 0, &message);
  auto text = llvm::MemoryBuffer::getFile(log);
  if (rc != 0 || !text) {
    error = "profiling the model failed (exit " + std::to_string(rc) + "): " + message +
            (text ? " " + (*text)->getBuffer().take_back(500).str() : "");
    return false;
  }
  // Steps are kernel names ("k12_conv_relu", perhaps cut short): "kN" identifies one.
  std::map<std::string, std::string> keyOfIndex;
  for (const auto &[name, key] : kernelPlanKeys(module, options.target))
    keyOfIndex[llvm::StringRef(name).split('_').first.str()] = key;
  double total = 0;
  llvm::SmallVector<llvm::StringRef> lines;
  (*text)->getBuffer().split(lines, '\n');
  for (llvm::StringRef line : lines) {
    llvm::SmallVector<llvm::StringRef> fields;
    line.split(fields, ' ', -1, false);
    if (fields.size() != 3 || !fields[0].starts_with("k"))
      continue;
    double ms;
    if (fields[1].getAsDouble(ms))
      continue;
    auto it = keyOfIndex.find(fields[0].split('_').first.str());
    if (it == keyOfIndex.end())
      continue;
    shareOfKey[it->second] += ms;
    total += ms;
  }
  if (total <= 0) {
    error = "the model's profile (" + log + ") lists no kernel time";
    return false;
  }
  for (auto &[key, ms] : shareOfKey)
    ms /= total;
  llvm::errs() << "[tune] the model runs " << format("%.3f", total) << " ms in "
               << shareOfKey.size() << " distinct kernels\n";
  return true;
}

} // namespace

int tuneModel(ModuleOp module, const TuneOptions &input) {
  TuneOptions options = input;
  ChipKey chip = hostChip();
  if (std::string problem = runsHereProblem(options.target, hostChip()); !problem.empty()) {
    llvm::errs() << "kiln: error: cannot tune for target " << options.target.name << ": "
                 << problem << "\n";
    return kExitUsage;
  }
  // A farm: measurements run on its workers, whose chip they are filed under; references
  // and the profile are still computed here, so the target must run here too.
  std::unique_ptr<Farm> farm;
  int farmWorkers = 0;
  if (!options.farmUrl.empty()) {
    std::string farmError;
    farm = Farm::connect(options.farmUrl, farmError);
    if (!farm) {
      llvm::errs() << "kiln: error: " << farmError << "\n";
      return kExitFailure;
    }
    llvm::errs() << "[tune] waiting for workers on " << options.farmUrl << "\n";
    std::vector<WorkerInfo> workers = farm->listenForWorkers(30, farmError);
    std::map<std::string, WorkerInfo> chips;
    for (const WorkerInfo &w : workers)
      if (options.farmChip.empty() || w.chip.key == options.farmChip)
        chips.emplace(w.chip.key, w);
    if (chips.size() != 1) {
      llvm::errs() << "kiln: error: "
                   << (workers.empty() ? "no worker announced itself on " + options.farmUrl +
                                             " within 30 s" + (farmError.empty() ? "" : " (" + farmError + ")")
                       : chips.empty() ? "no worker has chip " + options.farmChip
                                       : "workers of several chips are on the farm; choose one "
                                         "with --farm-chip:")
                   << "\n";
      for (const auto &[key, w] : chips)
        llvm::errs() << "  " << key << " (" << w.chip.name << ", e.g. worker " << w.worker << ")\n";
      return kExitUsage;
    }
    chip = chips.begin()->second.chip;
    int count = 0;
    for (const WorkerInfo &w : workers)
      count += w.chip.key == chip.key;
    farmWorkers = count;
    llvm::errs() << "[tune] " << count << " worker" << (count == 1 ? "" : "s") << " of chip "
                 << chip.key << " (" << chip.name << ")\n";
    if (std::string problem = runsHereProblem(options.target, chip); !problem.empty()) {
      llvm::errs() << "kiln: error: the farm's workers cannot run target " << options.target.name
                   << ": " << problem << "\n";
      return kExitUsage;
    }
  }
  int threads = options.threads > 0 ? options.threads
                                    : int(std::max(1u, std::thread::hardware_concurrency()));
  std::string error;
  auto db = TuningDb::open(options.dbPath, true, error);
  if (!db) {
    llvm::errs() << "kiln: error: " << error << "\n";
    return kExitUsage;
  }
  bool temporary = options.workDir.empty();
  if (temporary) {
    llvm::SmallString<128> path;
    if (llvm::sys::fs::createUniqueDirectory("kiln-tune", path)) {
      llvm::errs() << "kiln: error: cannot create a temporary directory\n";
      return kExitFailure;
    }
    options.workDir = path.str().str();
  }
  llvm::sys::fs::create_directories(options.workDir);
  auto cleanup = [&] {
    if (temporary)
      llvm::sys::fs::remove_directories(options.workDir);
  };

  std::vector<std::pair<std::string, std::string>> keys = kernelPlanKeys(module, options.target);
  std::map<std::string, KernelOp> kernelOfKey;
  module.walk([&](KernelOp kernel) {
    for (const auto &[name, key] : keys)
      if (name == kernel.getSymName() && !kernelOfKey.count(key))
        kernelOfKey[key] = kernel;
  });
  std::set<std::string> distinct;
  for (const auto &[name, key] : keys)
    distinct.insert(key);
  std::string sessionText = "kiln-tune-session\n" + options.target.name + "\n" + chip.key + "\n" +
                            std::to_string(threads) + "\n";
  for (const std::string &key : distinct)
    sessionText += key + "\n";
  std::string session = contentHash(sessionText).substr(0, 32);

  auto sessionKernels = db->sessionKernels(session, error);
  if (!error.empty()) {
    llvm::errs() << "kiln: error: " << error << "\n";
    cleanup();
    return kExitFailure;
  }
  if (sessionKernels.empty()) {
    std::map<std::string, double> shareOfKey;
    if (!profileModel(module, options, threads, shareOfKey, error)) {
      llvm::errs() << "kiln: error: " << error << "\n";
      cleanup();
      return kExitFailure;
    }
    for (const auto &[name, key] : keys)
      if (shareOfKey.count(key)) {
        sessionKernels.push_back({key, name, shareOfKey[key], 0});
        shareOfKey.erase(key);
      }
    if (!db->createSession(session, options.modelPath, sessionKernels, error)) {
      llvm::errs() << "kiln: error: " << error << "\n";
      cleanup();
      return kExitFailure;
    }
    sessionKernels = db->sessionKernels(session, error);
  } else {
    double spent = 0;
    for (const auto &k : sessionKernels)
      spent += k.spentSeconds;
    llvm::errs() << "[tune] resuming: " << format("%.0f", spent) << " s of measurements already in "
                 << options.dbPath << "\n";
  }
  // The budget goes to kernels worth tuning, in proportion to their share of the run.
  double tunableShare = 0;
  std::vector<KernelTuning> work;
  for (const auto &k : sessionKernels) {
    if (k.share < options.minShare || !kernelOfKey.count(k.kernelKey))
      continue;
    tunableShare += k.share;
    work.push_back({kernelOfKey[k.kernelKey], k.kernelKey, k.kernelName, k.share, 0,
                    k.spentSeconds});
  }
  for (KernelTuning &k : work)
    k.budgetSeconds = options.budgetSeconds * k.share / tunableShare;
  llvm::errs() << "[tune] " << work.size() << " of " << sessionKernels.size()
               << " distinct kernels take at least " << format("%.1f", 100 * options.minShare)
               << "% of the run; budget " << format("%.0f", options.budgetSeconds) << " s, "
               << options.search << " search, " << threads << " thread"
               << (threads == 1 ? "" : "s") << ", chip " << chip.name << "\n";
  if (farm && !farm->openSession(session, chip.key, error)) {
    llvm::errs() << "kiln: error: " << error << "\n";
    cleanup();
    return kExitFailure;
  }
  if (farm) {  // results a previous coordinator left in the stream go in first
    farm->awaitResults(
        2, [&](const Measurement &m, const std::string &) { return db->record(m, session, error); },
        [](uint64_t) {}, [] { return false; }, error);
  }
  Tuner tuner(options, *db, chip, threads, session, farm.get(), farmWorkers);
  for (size_t i = 0; i < work.size(); ++i) {
    if (work[i].spentSeconds >= work[i].budgetSeconds) {
      // Its budget was spent by an earlier run: report what the database has.
      llvm::errs() << "[tune] " << i + 1 << "/" << work.size() << " " << work[i].name
                   << ": budget spent by an earlier run\n";
    }
    if (!tuner.tune(work[i], int(i + 1), int(work.size()))) {
      llvm::errs() << "kiln: error: the tuning database failed\n";
      cleanup();
      return kExitFailure;
    }
  }
  // What the model gains, estimated from the kernels' shares.
  double before = 0, after = 0;
  for (const auto &r : tuner.results) {
    before += r.share;
    after += r.share * (r.heuristicMs > 0 ? r.bestMs / r.heuristicMs : 1.0);
  }
  llvm::outs() << "kernel                                      share  heuristic ms   best ms  change\n";
  for (const auto &r : tuner.results)
    llvm::outs() << llvm::left_justify(r.name.substr(0, 42), 42) << " "
                 << format("%5.1f%%", 100 * r.share) << " " << format("%13.4f", r.heuristicMs)
                 << " " << format("%9.4f", r.bestMs) << " "
                 << format("%+6.1f%%", r.heuristicMs > 0 ? 100 * (r.bestMs / r.heuristicMs - 1) : 0)
                 << "\n";
  if (before > 0)
    llvm::outs() << "tuned kernels' part of the run: " << format("%+.1f%%", 100 * (after / before - 1))
                 << " (estimate from kernel times; compile with --tuning " << options.dbPath
                 << " and time the model to see the whole)\n";
  cleanup();
  return 0;
}

} // namespace kiln
