//===- Tuning.cpp - choosing tuned plans for a compile ---------------------===//
#include "compiler/tune/Tuning.h"

#include "compiler/codegen/Artifact.h"
#include "compiler/tune/TuningDb.h"

#include "llvm/Support/MemoryBuffer.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <tuple>

namespace kiln {

std::optional<TuningChoice> readTuning(const std::string &path, const TargetInfo &target,
                                       std::string &error) {
  // The first bytes tell a database (SQLite reads it itself) from a JSON export.
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    error = "--tuning " + path + ": " + std::strerror(errno);
    return std::nullopt;
  }
  char head[16] = {0};
  file.read(head, sizeof head);
  file.close();
  std::vector<Measurement> measurements;
  std::vector<Confirmation> confirmations;
  if (llvm::StringRef(head, size_t(std::max<std::streamsize>(0, file.gcount())))
          .starts_with("SQLite format 3")) {
    auto db = TuningDb::open(path, false, error);
    if (!db) {
      error = "--tuning " + error;
      return std::nullopt;
    }
    measurements = db->all(error);
    if (error.empty())
      confirmations = db->confirmations(error);
    if (!error.empty()) {
      error = "--tuning " + error;
      return std::nullopt;
    }
  } else {
    auto buffer = llvm::MemoryBuffer::getFile(path);
    if (!buffer) {
      error = "--tuning " + path + ": " + buffer.getError().message();
      return std::nullopt;
    }
    auto fromJson = measurementsFromJson((*buffer)->getBuffer().str(), error);
    if (!fromJson) {
      error = "--tuning " + path + ": " + error;
      return std::nullopt;
    }
    measurements = std::move(*fromJson);
  }
  TuningChoice choice;
  choice.chip = hostChip();
  choice.source = path;
  // Per kernel, the best candidate by (exact chip first, then family; most threads).
  struct Pick {
    int rank = -1;  // 2: exact chip, 1: family
    int threads = 0;
    const TunedPlan *plan = nullptr;
  };
  std::map<std::string, Pick> picks;
  std::vector<TunedPlan> best = bestPlans(measurements, confirmations);
  for (const TunedPlan &tuned : best) {
    const Measurement &m = tuned.best;
    if (m.scope.target != target.name || m.scope.kilnCodegen != kKilnCodegenVersion)
      continue;
    int rank = m.scope.chip == choice.chip.key ? 2 : m.chipFamily == choice.chip.family ? 1 : 0;
    if (rank == 0)
      continue;
    Pick &pick = picks[m.scope.kernelKey];
    if (std::tie(rank, m.scope.threads) > std::tie(pick.rank, pick.threads))
      pick = {rank, m.scope.threads, &tuned};
  }
  for (const auto &[key, pick] : picks) {
    std::string planError;
    auto one = PlanFile::fromJson(
        "{\"format\": \"kiln-plans\", \"version\": 1, \"plans\": [" + pick.plan->best.plan + "]}",
        planError);
    const KernelPlan *plan = one ? one->find(key) : nullptr;
    if (!plan) {
      error = "--tuning " + path + ": the plan of kernel " + key + " cannot be read" +
              (planError.empty() ? "" : ": " + planError);
      return std::nullopt;
    }
    choice.plans.add(*plan);
    choice.exactChip[key] = pick.rank == 2;
    choice.chipNames.insert(pick.plan->best.chipName);
  }
  return choice;
}

std::string describeTuningUse(const TuningChoice &choice, mlir::ModuleOp module,
                              const TargetInfo &target) {
  int total = 0, exact = 0, family = 0;
  std::set<std::string> seen;
  for (const auto &[name, key] : kernelPlanKeys(module, target)) {
    ++total;
    auto it = choice.exactChip.find(key);
    if (it == choice.exactChip.end())
      continue;
    ++(it->second ? exact : family);
  }
  std::string text = std::to_string(exact + family) + " of " + std::to_string(total) +
                     " kernel calls took a tuned plan from " + choice.source + " (" +
                     std::to_string(exact) + " measured on this chip, " + choice.chip.name +
                     "; " + std::to_string(family) + " on its family " + choice.chip.family + ")";
  return text;
}

} // namespace kiln
