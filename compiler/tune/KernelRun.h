//===- KernelRun.h - running a kernel benchmark and checking its outputs ---===//
//
// The half of the one-kernel benchmark that needs no compiler: run the executable in a
// child process with a timeout (and a heartbeat while it runs, which a farm worker turns
// into JetStream in-progress acks), read its latency line, and compare its .npy outputs with
// the reference plan's. `kiln tune` and `kiln-worker` share it.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_COMPILER_TUNE_KERNELRUN_H
#define KILN_COMPILER_TUNE_KERNELRUN_H

#include <functional>
#include <string>
#include <vector>

namespace kiln {

/// What running a kernel benchmark gave.
struct KernelRun {
  enum class Outcome { Ok, Crashed, TimedOut, Failed } outcome = Outcome::Failed;
  double medianMs = 0, minMs = 0;
  int64_t runs = 0;
  std::string message;
};

struct RunRequest {
  std::string executable;
  std::vector<std::string> inputArgs;  // "--input", "NAME=FILE", ...
  std::string outputDir;               // outputs written here (.npy), log beside it
  int threads = 1;
  int minTimeMs = 200;
  int timeoutSeconds = 60;
  std::string wrapper;                 // a command the run goes under (split at spaces)
};

/// Runs the benchmark: one warm-up, then at least 3 runs adding up to minTimeMs, at `threads`
/// threads; killed after timeoutSeconds. `heartbeat` is called about once a second while the
/// child runs.
KernelRun runKernelBenchmark(const RunRequest &request,
                             const std::function<void()> &heartbeat = {});

/// Compares the .npy outputs out0.npy, out1.npy, ... of two directories: float32 outputs
/// (`float32[i]`) within 1e-3 x max(1, largest reference magnitude) (other tile shapes sum in
/// another order), everything else exactly. "" when they match, else what differs.
std::string compareKernelOutputs(const std::vector<bool> &float32,
                                 const std::string &referenceDir,
                                 const std::string &candidateDir);

} // namespace kiln

#endif
