//===- CompileJobs.cpp - Halide work in child processes, a few at a time --===//
//
// Every use of Halide (a kernel, its plan, the Halide runtime) runs in a child process
// forked from the compiler, for three reasons:
// 1. Reproducible objects: Halide names closures and temporaries from process-wide
//    counters, so in one process a kernel's object depended on which kernels were compiled
//    before it (a warm cache gave different bytes than a cold one). Every child starts
//    from the parent's state, which never touches Halide.
// 2. Isolation: a crash or abort inside Halide or LLVM fails that kernel with a message
//    naming it instead of killing kiln.
// 3. Speed: independent kernels compile in parallel (KILN_JOBS, default the CPU count).
// A child reports failure through a file beside its object (pipes would fill up with long
// Halide messages before the parent reads them).
//
//===----------------------------------------------------------------------===//
#include "compiler/codegen/ArtifactParts.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <sys/wait.h>
#include <unistd.h>

namespace kiln {
namespace {

/// Children now running, for killCompileJobs (a signal handler reads it: fixed storage).
constexpr int kMaxChildren = 64;
volatile pid_t runningChildren[kMaxChildren];

void remember(pid_t pid) {
  for (int i = 0; i < kMaxChildren; ++i)
    if (runningChildren[i] == 0) {
      runningChildren[i] = pid;
      return;
    }
}

void forget(pid_t pid) {
  for (int i = 0; i < kMaxChildren; ++i)
    if (runningChildren[i] == pid)
      runningChildren[i] = 0;
}

int parallelJobs() {
  // One at a time while loop nests are printed, so they do not interleave.
  if (const char *print = std::getenv("KILN_PRINT_LOOP_NEST"); print && *print == '1')
    return 1;
  if (const char *jobs = std::getenv("KILN_JOBS")) {
    int n = std::atoi(jobs);
    if (n >= 1 && n <= 64)
      return n;
  }
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  return cpus < 1 ? 1 : cpus > 16 ? 16 : int(cpus);
}

/// The child's side of a job: do it, leave the plan and any error in files, exit.
[[noreturn]] void runChild(const CompileJob &job, const TargetInfo &target) {
  std::string error;
  KernelPlan used;
  bool ok = false;
  switch (job.kind) {
  case CompileJob::Kind::Runtime:
    ok = compileHalideRuntime(target, job.objectPath, error);
    break;
  case CompileJob::Kind::Kernel:
    ok = compileKernel(job.kernel, job.symbol, target, job.plan, job.objectPath, &used, error);
    break;
  case CompileJob::Kind::Plan:
    ok = planKernel(job.kernel, target, used, error);
    break;
  }
  if (ok && !job.planPath.empty()) {
    used.key.clear();  // the parent files it under its key
    std::ofstream out(job.planPath);
    out << planJson(used);
    ok = out.good();
    if (!ok)
      error = "cannot write " + job.planPath;
  }
  if (!ok) {
    std::ofstream out(job.errorPath);
    out << error;
  }
  std::cout.flush();
  std::cerr.flush();
  _exit(ok ? 0 : 1);
}

std::string describe(const CompileJob &job) {
  return job.kind == CompileJob::Kind::Runtime ? std::string("the Halide runtime")
                                               : "kernel " + job.name;
}

} // namespace

void killCompileJobs() {
  for (int i = 0; i < kMaxChildren; ++i)
    if (pid_t pid = runningChildren[i])
      kill(pid, SIGKILL);
}

bool runCompileJobs(std::vector<CompileJob> &jobs, const TargetInfo &target,
                    const std::function<void(const CompileJob &)> &onDone,
                    std::string &error) {
  int parallel = parallelJobs();
  std::map<pid_t, size_t> running;
  size_t next = 0;
  bool failed = false;
  llvm::outs().flush();
  llvm::errs().flush();
  while ((next < jobs.size() && !failed) || !running.empty()) {
    while (!failed && next < jobs.size() && int(running.size()) < parallel) {
      CompileJob &job = jobs[next];
      llvm::sys::fs::remove(job.errorPath);
      pid_t pid = fork();
      if (pid < 0) {
        error = std::string("cannot start a compile process: ") + std::strerror(errno);
        failed = true;
        break;
      }
      if (pid == 0)
        runChild(job, target);
      remember(pid);
      running[pid] = next++;
    }
    if (running.empty())
      break;
    int status = 0;
    pid_t pid = waitpid(-1, &status, 0);
    if (pid < 0) {
      if (errno == EINTR)
        continue;
      error = std::string("waiting for a compile process: ") + std::strerror(errno);
      return false;
    }
    forget(pid);
    auto it = running.find(pid);
    if (it == running.end())
      continue;
    CompileJob &job = jobs[it->second];
    running.erase(it);
    if (failed)
      continue;  // let the others finish; the first error is reported
    if (WIFSIGNALED(status)) {
      error = describe(job) + ": the compiler crashed while compiling it (signal " +
              std::to_string(WTERMSIG(status)) + ", " + strsignal(WTERMSIG(status)) + ")";
      failed = true;
    } else if (WEXITSTATUS(status) != 0) {
      auto message = llvm::MemoryBuffer::getFile(job.errorPath);
      error = message ? (*message)->getBuffer().str()
                      : describe(job) + ": compiling it failed with no message";
      failed = true;
    } else {
      onDone(job);
    }
  }
  return !failed;
}

} // namespace kiln
