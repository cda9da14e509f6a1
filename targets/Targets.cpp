//===- Targets.cpp - target registry and per-kernel AOT compilation -------===//
//
// Collects the targets of every backend (plus `host`, this machine's CPU), and compiles
// one kernel region to an object: build the algorithm (targets/common), take the plan
// (given, or the backend's heuristic), apply it, pin the static buffer shapes, compile AOT.
//
//===----------------------------------------------------------------------===//
#include "targets/Targets.h"

#include "targets/common/ArenaScratch.h"
#include "targets/common/KernelAlgorithm.h"
#include "targets/cpu/CpuBackend.h"
#include "targets/gpu/GpuBackend.h"

#include "llvm/Support/Program.h"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iostream>

namespace kiln {
namespace {

std::vector<const TargetBackend *> backends() {
  return {&x86Backend(), &armBackend(), &riscvBackend(), &cortexMBackend(), &wasmBackend(),
          &cudaBackend(), &openClBackend(), &metalBackend()};
}

TargetInfo hostTarget() {
  Halide::Target host = Halide::get_host_target();
  // Halide 14 reads "Sapphire Rapids" from cpuid family bits and then assumes AVX512-FP16;
  // VMs often mask that extension, so keep the feature only when the CPU reports it.
#if defined(__x86_64__)
  if (host.has_feature(Halide::Target::AVX512_SapphireRapids) &&
      !__builtin_cpu_supports("avx512fp16"))
    host = host.without_feature(Halide::Target::AVX512_SapphireRapids);
#endif
  TargetInfo info;
  info.name = "host";
  info.halideTarget = host.to_string();
  bool arm = host.arch == Halide::Target::ARM;
  info.backend = arm ? &armBackend() : &x86Backend();
  info.vectorBytes = host.has_feature(Halide::Target::AVX512) ? 64
                     : host.has_feature(Halide::Target::AVX2) ? 32
                                                              : 16;
  info.cc = "cc";
  info.description = "this machine's CPU (" + info.halideTarget + ")";
#if defined(__x86_64__)
  if (host.has_feature(Halide::Target::AVX2))
    info.integerDotTarget = host.to_string();
  if (host.has_feature(Halide::Target::AVX512_Skylake) && __builtin_cpu_supports("avx512vnni"))
    info.integerDotTarget = host.with_feature(Halide::Target::AVX512_Cannonlake)
                                .with_feature(Halide::Target::AVX512_SapphireRapids)
                                .to_string();
#endif
#if defined(__aarch64__)
  if (host.has_feature(Halide::Target::ARMDotProd))
    info.integerDotTarget = host.to_string();
#endif
  return info;
}

} // namespace

std::vector<TargetInfo> allTargets() {
  std::vector<TargetInfo> all{hostTarget()};
  for (const TargetBackend *backend : backends())
    for (TargetInfo &info : backend->targets())
      all.push_back(std::move(info));
  return all;
}

std::optional<TargetInfo> findTarget(const std::string &name) {
  if (name == "host")
    return hostTarget();
  for (const TargetBackend *backend : backends())
    for (TargetInfo &info : backend->targets())
      if (info.name == name)
        return info;
  return std::nullopt;
}

std::string targetMachineArch(const TargetInfo &target) {
  if (target.freestanding || target.backend->runtimeNeeds(target).api != DeviceApi::None)
    return "";
  llvm::StringRef halide = target.halideTarget;
  if (halide.starts_with("x86-64-linux"))
    return "x86_64";
  if (halide.starts_with("arm-64-linux"))
    return "aarch64";
  return "";
}

std::vector<std::string> targetNames() {
  std::vector<std::string> names;
  for (const TargetInfo &info : allTargets())
    names.push_back(info.name);
  return names;
}

namespace {

KernelAlgorithm buildAlgorithm(KernelOp kernel, const TargetInfo &target) {
  return buildKernelAlgorithm(kernel,
                              target.backend->signedIntegerDots() ? IntegerDotForm::SignedWeights
                                                                  : IntegerDotForm::UnsignedWeights,
                              target.backend->concatenatesBySlices());
}

std::string kernelError(KernelOp kernel, const std::string &what) {
  return "kernel " + kernel.getSymName().str() + ": " + what;
}

/// Bare-metal targets: LLVM bitcode from Halide, lowered for the board's Thumb CPU by
/// LLVM's own `llc` (KILN_LLC, default llc-22), which knows the Cortex-M cores Halide 14
/// does not.
void lowerForBareMetal(Halide::Pipeline &pipeline, const std::vector<Halide::Argument> &arguments,
                       const std::string &symbol, const Halide::Target &halideTarget,
                       const BareMetalTarget &board, const std::string &objectPath) {
  std::string bitcode = objectPath + ".bc";
  pipeline.compile_to({{Halide::OutputFileType::bitcode, bitcode}}, arguments, symbol,
                      halideTarget);
  const char *configured = std::getenv("KILN_LLC");
  std::string tool = configured && *configured ? configured : "llc-22";
  auto llc = llvm::sys::findProgramByName(tool);
  if (!llc)
    throw std::runtime_error("'" + tool + "' not found (install llvm-22, or set KILN_LLC): "
                             "bare-metal kernels are lowered with it");
  std::vector<std::string> argv = {*llc, "-O3", "-mtriple=" + board.llcTriple,
                                   "-mcpu=" + board.llcCpu, "-float-abi=hard",
                                   "-relocation-model=static", "-function-sections",
                                   "-data-sections", "-filetype=obj", bitcode, "-o", objectPath};
  if (!board.llcFeatures.empty())
    argv.insert(argv.begin() + 5, "-mattr=" + board.llcFeatures);
  std::vector<llvm::StringRef> refs(argv.begin(), argv.end());
  std::string message;
  int status = llvm::sys::ExecuteAndWait(*llc, refs, std::nullopt, {}, 0, 0, &message);
  std::remove(bitcode.c_str());
  if (status != 0)
    throw std::runtime_error(tool + " failed on the kernel's bitcode (exit " +
                             std::to_string(status) + (message.empty() ? "" : ", " + message) +
                             ")");
}

} // namespace

bool planKernel(KernelOp kernel, const TargetInfo &target, KernelPlan &plan,
                std::string &error) {
  try {
    KernelAlgorithm algorithm = buildAlgorithm(kernel, target);
    plan = target.backend->planKernel(algorithm, target);
    plan.kernel = kernel.getSymName().str();
    return true;
  } catch (const Halide::Error &e) {
    error = kernelError(kernel, std::string("Halide: ") + e.what());
  } catch (const std::exception &e) {
    error = kernelError(kernel, e.what());
  }
  return false;
}

bool compileKernel(KernelOp kernel, const std::string &symbol, const TargetInfo &target,
                   const KernelPlan *plan, const std::string &objectPath,
                   KernelPlan *usedPlan, std::string &error) {
  try {
    KernelAlgorithm algorithm = buildAlgorithm(kernel, target);
    KernelPlan chosen = plan ? *plan : target.backend->planKernel(algorithm, target);
    chosen.kernel = kernel.getSymName().str();
    if (chosen.backend != target.backend->family())
      throw std::runtime_error("the plan was written for the " + chosen.backend +
                               " backend, the target's is " + target.backend->family());
    target.backend->applyPlan(algorithm, chosen, target);
    if (usedPlan)
      *usedPlan = chosen;
    std::vector<Halide::Func> outputs;
    for (TensorFunc &output : algorithm.outputs) {
      Halide::OutputImageParam buffer = output.func.output_buffer();
      int stride = 1;
      for (int d = 0; d < int(output.shape.size()); ++d) {
        int extent = int(output.shape[output.shape.size() - 1 - d]);
        buffer.dim(d).set_bounds(0, extent).set_stride(stride);
        stride *= extent;
      }
      outputs.push_back(output.func);
    }
    std::vector<Halide::Argument> arguments(algorithm.inputs.begin(), algorithm.inputs.end());
    bool integerDot = std::any_of(algorithm.stages.begin(), algorithm.stages.end(),
                                  [](const KernelStage &stage) {
                                    return stage.kind == StageClass::QuantizedMatmul;
                                  });
    Halide::Target halideTarget(integerDot && !target.integerDotTarget.empty()
                                    ? target.integerDotTarget
                                    : target.halideTarget);
    // UserContext: the kernel takes the model's runtime context first and hands it to
    // halide_do_par_for and halide_malloc, so each model runs on its own pool and scratch.
    halideTarget = halideTarget.with_feature(Halide::Target::NoRuntime)
                       .with_feature(Halide::Target::UserContext);
    Halide::Pipeline pipeline(outputs);
    // Bare metal: intermediate buffers come from the arena; the peak goes beside the object
    // (the artifact builder sizes the arena's scratch range from it).
    ArenaScratchPass *scratch = nullptr;
    if (target.freestanding) {
      scratch = new ArenaScratchPass(kernel.getSymName().str());
      pipeline.add_custom_lowering_pass(scratch, nullptr);
    }
    std::unique_ptr<ArenaScratchPass> ownScratch(scratch);
    // KILN_PRINT_LOOP_NEST=1 shows each kernel's schedule (for schedule work and tests).
    if (const char *print = std::getenv("KILN_PRINT_LOOP_NEST"); print && *print == '1') {
      std::cerr << "kernel " << kernel.getSymName().str() << ":\n";
      pipeline.print_loop_nest();
    }
    if (target.bareMetal)
      lowerForBareMetal(pipeline, arguments, symbol, halideTarget, *target.bareMetal, objectPath);
    else
      pipeline.compile_to_object(objectPath, arguments, symbol, halideTarget);
    if (!scratch)
      return true;
    std::ofstream peak(objectPath + ".scratch");
    peak << scratch->peakBytes() << "\n";
    if (!peak.good())
      throw std::runtime_error("cannot write " + objectPath + ".scratch");
    return true;
  } catch (const Halide::Error &e) {
    error = kernelError(kernel, std::string("Halide: ") + e.what());
  } catch (const std::exception &e) {
    error = kernelError(kernel, e.what());
  }
  return false;
}

bool compileHalideRuntime(const TargetInfo &target, const std::string &objectPath,
                          std::string &error) {
  try {
    Halide::compile_standalone_runtime(objectPath, Halide::Target(target.halideTarget));
    return true;
  } catch (const Halide::Error &e) {
    error = std::string("Halide runtime: ") + e.what();
  }
  return false;
}

} // namespace kiln
