//===- KernelRun.cpp - child processes, latency lines, output checks -------===//
#include "compiler/tune/KernelRun.h"

#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Program.h"

#include <chrono>
#include <cmath>
#include <csignal>
#include <optional>
#include <regex>
#include <thread>

namespace kiln {
namespace {

/// The data of an .npy file (after its header), or "" when it cannot be read.
std::string npyData(const std::string &path) {
  auto buffer = llvm::MemoryBuffer::getFile(path);
  if (!buffer)
    return "";
  llvm::StringRef bytes = (*buffer)->getBuffer();
  if (bytes.size() < 12 || !bytes.starts_with("\x93NUMPY"))
    return "";
  size_t headerBytes = bytes[6] == 1 ? 10 + (uint8_t(bytes[8]) | uint8_t(bytes[9]) << 8)
                                     : 12 + (uint32_t(uint8_t(bytes[8])) |
                                             uint32_t(uint8_t(bytes[9])) << 8 |
                                             uint32_t(uint8_t(bytes[10])) << 16 |
                                             uint32_t(uint8_t(bytes[11])) << 24);
  return headerBytes <= bytes.size() ? bytes.drop_front(headerBytes).str() : "";
}

} // namespace

std::string compareKernelOutputs(const std::vector<bool> &float32, const std::string &referenceDir,
                                 const std::string &candidateDir) {
  for (size_t i = 0; i < float32.size(); ++i) {
    std::string name = "out" + std::to_string(i) + ".npy";
    std::string reference = npyData(referenceDir + "/" + name);
    std::string candidate = npyData(candidateDir + "/" + name);
    if (candidate.empty() && !reference.empty())
      return "output " + name + " missing";
    if (reference.size() != candidate.size())
      return "output " + name + " has " + std::to_string(candidate.size()) + " bytes, not " +
             std::to_string(reference.size());
    if (!float32[i]) {
      if (reference != candidate)
        return "output " + name + " differs";
      continue;
    }
    size_t count = reference.size() / 4;
    const float *ref = reinterpret_cast<const float *>(reference.data());
    const float *got = reinterpret_cast<const float *>(candidate.data());
    double largest = 1.0, worst = 0.0;
    for (size_t k = 0; k < count; ++k)
      if (std::isfinite(ref[k]))
        largest = std::max(largest, double(std::fabs(ref[k])));
    for (size_t k = 0; k < count; ++k) {
      if (std::isnan(ref[k]) != std::isnan(got[k]))
        return "output " + name + " element " + std::to_string(k) + " is NaN in one only";
      if (std::isnan(ref[k]))
        continue;
      double difference = std::isinf(ref[k]) || std::isinf(got[k])
                              ? (ref[k] == got[k] ? 0.0 : INFINITY)
                              : std::fabs(double(ref[k]) - double(got[k]));
      worst = std::max(worst, difference);
    }
    if (worst > 1e-3 * largest) {
      char text[160];
      snprintf(text, sizeof text, "output %s differs by up to %.3g (values up to %.3g)",
               name.c_str(), worst, largest);
      return text;
    }
  }
  return "";
}

KernelRun runKernelBenchmark(const RunRequest &request, const std::function<void()> &heartbeat) {
  KernelRun run;
  std::vector<std::string> argv;
  llvm::SmallVector<llvm::StringRef> words;
  llvm::StringRef(request.wrapper).split(words, ' ', -1, false);
  for (llvm::StringRef word : words)
    argv.push_back(word.str());
  argv.push_back(request.executable);
  argv.insert(argv.end(), request.inputArgs.begin(), request.inputArgs.end());
  for (const std::string &arg :
       {std::string("--output-dir"), request.outputDir, std::string("--bench"), std::string("3"),
        std::string("--min-time"), std::to_string(request.minTimeMs), std::string("--threads"),
        std::to_string(request.threads)})
    argv.push_back(arg);
  std::string program = argv[0];
  if (!words.empty()) {  // the wrapper is looked up on PATH
    auto found = llvm::sys::findProgramByName(program);
    if (!found) {
      run.message = "cannot find the run wrapper '" + program + "'";
      return run;
    }
    program = *found;
  }
  std::vector<llvm::StringRef> args(argv.begin(), argv.end());
  std::string log = request.outputDir + ".log";
  std::optional<llvm::StringRef> redirects[] = {llvm::StringRef(""), llvm::StringRef(log),
                                                llvm::StringRef(log)};
  std::string message;
  bool failedToStart = false;
  llvm::sys::ProcessInfo child = llvm::sys::ExecuteNoWait(program, args, std::nullopt, redirects,
                                                          0, &message, &failedToStart);
  if (failedToStart || child.Pid <= 0) {
    run.message = "cannot run " + program + ": " + message;
    return run;
  }
  // Poll, so the heartbeat runs while the child does; kill it at the timeout.
  auto start = std::chrono::steady_clock::now(), lastBeat = start;
  bool timedOut = false;
  llvm::sys::ProcessInfo done;
  for (;;) {
    done = llvm::sys::Wait(child, 0, &message);
    if (done.Pid != 0)
      break;
    auto now = std::chrono::steady_clock::now();
    if (now - start > std::chrono::seconds(request.timeoutSeconds)) {
      ::kill(child.Pid, SIGKILL);
      done = llvm::sys::Wait(child, std::nullopt, &message);
      timedOut = true;
      break;
    }
    if (heartbeat && now - lastBeat > std::chrono::seconds(1)) {
      heartbeat();
      lastBeat = now;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  auto text = llvm::MemoryBuffer::getFile(log);
  std::string output = text ? (*text)->getBuffer().str() : "";
  if (timedOut) {
    run.outcome = KernelRun::Outcome::TimedOut;
    run.message = "no result after " + std::to_string(request.timeoutSeconds) + " s";
    return run;
  }
  int rc = done.ReturnCode;
  if (rc == -2 || rc < 0) {  // a signal ended the child
    run.outcome = KernelRun::Outcome::Crashed;
    run.message = message.empty() ? "killed by a signal" : message;
    return run;
  }
  if (rc != 0) {
    run.outcome = KernelRun::Outcome::Failed;
    std::string last = output.substr(output.size() > 300 ? output.size() - 300 : 0);
    run.message = "exit " + std::to_string(rc) + (last.empty() ? "" : ": " + last);
    return run;
  }
  std::smatch match;
  static const std::regex latency("latency: median ([0-9.]+) ms, min ([0-9.]+) ms over ([0-9]+) runs");
  if (!std::regex_search(output, match, latency)) {
    run.message = "no latency line in the benchmark's output";
    return run;
  }
  run.outcome = KernelRun::Outcome::Ok;
  run.medianMs = std::stod(match[1]);
  run.minMs = std::stod(match[2]);
  run.runs = std::stoll(match[3]);
  return run;
}

} // namespace kiln
