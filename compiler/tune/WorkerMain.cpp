//===- WorkerMain.cpp - kiln-worker: measures tuning jobs on this machine --===//
//
// `kiln-worker --farm nats://HOST:PORT` pulls the one-kernel benchmarks `kiln tune --farm`
// publishes for this machine's chip, runs each (timeout, in-progress acks while it runs),
// checks its outputs against the reference that came with it and publishes the result
// (Farm.h). Run one per device; SIGINT or SIGTERM stops it after the job in hand.
//
//===----------------------------------------------------------------------===//
#include "compiler/tune/Farm.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/raw_ostream.h"

#include <csignal>
#include <cstring>

namespace {

volatile std::sig_atomic_t stopRequested = 0;

void onSignal(int) { stopRequested = 1; }

const char *kUsage = R"(kiln-worker - measures kiln tune's candidates on this machine

usage: kiln-worker --farm nats://HOST:PORT [options]

  --farm URL           the farm's NATS server (JetStream enabled)
  --ack-wait SECONDS   how long a job stays ours without an in-progress ack; a worker
                       that dies gives its job back after this (default 30)
  --max-deliver N      deliveries of a job before the farm drops it (default 3)
  --work DIR           where jobs are unpacked (default: a temporary directory)
  --run-wrapper CMD    run the benchmarks under CMD (split at spaces), e.g. "taskset -c 2,3"
  --chip               print this machine's chip key and exit
)";

} // namespace

int main(int argc, char **argv) {
  std::string url, workDir, runWrapper;
  int ackWait = 30, maxDeliver = 3;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&]() -> const char * { return i + 1 < argc ? argv[++i] : nullptr; };
    auto number = [&](int low, int high, int &out) {
      const char *v = value();
      return v && !llvm::StringRef(v).getAsInteger(10, out) && out >= low && out <= high;
    };
    if (arg == "--farm") {
      const char *v = value();
      if (!v) break;
      url = v;
    } else if (arg == "--work") {
      const char *v = value();
      if (!v) break;
      workDir = v;
    } else if (arg == "--run-wrapper") {
      const char *v = value();
      if (!v) break;
      runWrapper = v;
    } else if (arg == "--ack-wait") {
      if (!number(1, 3600, ackWait)) {
        llvm::errs() << "kiln-worker: error: --ack-wait expects seconds from 1 to 3600\n";
        return 2;
      }
    } else if (arg == "--max-deliver") {
      if (!number(1, 1000, maxDeliver)) {
        llvm::errs() << "kiln-worker: error: --max-deliver expects a count from 1 to 1000\n";
        return 2;
      }
    } else if (arg == "--chip") {
      kiln::ChipKey chip = kiln::hostChip();
      llvm::outs() << chip.key << "\n";
      return 0;
    } else if (arg == "--help" || arg == "-h") {
      llvm::outs() << kUsage;
      return 0;
    } else {
      llvm::errs() << "kiln-worker: error: unknown argument '" << arg << "'\n" << kUsage;
      return 2;
    }
  }
  if (url.empty()) {
    llvm::errs() << "kiln-worker: error: no --farm URL given\n" << kUsage;
    return 2;
  }
  bool temporary = workDir.empty();
  if (temporary) {
    llvm::SmallString<128> path;
    if (llvm::sys::fs::createUniqueDirectory("kiln-worker", path)) {
      llvm::errs() << "kiln-worker: error: cannot create a temporary directory\n";
      return 1;
    }
    workDir = path.str().str();
  }
  std::signal(SIGINT, onSignal);
  std::signal(SIGTERM, onSignal);
  std::string error;
  auto farm = kiln::Farm::connect(url, error);
  if (!farm) {
    llvm::errs() << "kiln-worker: error: " << error << "\n";
    return 1;
  }
  int rc = farm->work(ackWait, maxDeliver, workDir, runWrapper,
                      [] { return stopRequested != 0; });
  if (temporary)
    llvm::sys::fs::remove_directories(workDir);
  return rc;
}
