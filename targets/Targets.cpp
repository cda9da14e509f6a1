//===- Targets.cpp - target table and per-kernel AOT compilation ----------===//
//
// Maps user-facing target names to Halide targets and toolchains, and compiles one kernel
// region to an object: build the algorithm (targets/common), apply the target family's
// schedule (targets/x86, targets/arm), pin the static buffer shapes, compile AOT.
//
//===----------------------------------------------------------------------===//
#include "targets/Targets.h"

#include "targets/common/KernelAlgorithm.h"

#include <algorithm>
#include <cstdlib>
#include <iostream>

namespace kiln {

void scheduleX86Kernel(KernelAlgorithm &algorithm, const TargetInfo &target);
void scheduleArmKernel(KernelAlgorithm &algorithm, const TargetInfo &target);

static TargetInfo hostTarget() {
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
  info.family = arm ? ScheduleFamily::Arm : ScheduleFamily::X86;
  info.vectorBytes = host.has_feature(Halide::Target::AVX512) ? 64
                     : host.has_feature(Halide::Target::AVX2) ? 32
                                                              : 16;
  info.cc = "cc";
#if defined(__x86_64__)
  if (host.has_feature(Halide::Target::AVX2))
    info.integerDotTarget = host.to_string();
#endif
#if defined(__aarch64__)
  if (host.has_feature(Halide::Target::ARMDotProd))
    info.integerDotTarget = host.to_string();
#endif
#if defined(__x86_64__)
  if (host.has_feature(Halide::Target::AVX512_Skylake) && __builtin_cpu_supports("avx512vnni"))
    info.integerDotTarget = host.with_feature(Halide::Target::AVX512_Cannonlake)
                                .with_feature(Halide::Target::AVX512_SapphireRapids)
                                .to_string();
#endif
  return info;
}

// Integer dot products: Halide 14 emits VPDPBUSD for the avx512_sapphirerapids feature (it
// has no separate VNNI flag; the LLVM module it links the instruction's wrapper from needs
// plain avx512 too). Without it the same 4-way u8 x i8 sums lower to VPMADDWD pairs: on the
// 2-core Zen 4 VM, 4096x11008 q4_0 matrix-vector 1.07 ms (VNNI) vs 1.89 ms (AVX-512BW) vs
// 4.0 ms (AVX2) at 1 thread, against 9-10 ms for the float decode path.
static const char kAvx512[] = "x86-64-linux-avx-avx2-avx512-avx512_skylake-f16c-fma-sse41";
static const char kAvx512Vnni[] =
    "x86-64-linux-avx-avx2-avx512-avx512_skylake-avx512_cannonlake-avx512_sapphirerapids-"
    "f16c-fma-sse41";

std::optional<TargetInfo> findTarget(const std::string &name) {
  if (name == "host")
    return hostTarget();
  if (name == "x86-64-avx2")
    return TargetInfo{name, "x86-64-linux-avx-avx2-f16c-fma-sse41", ScheduleFamily::X86, 32,
                      "cc", {}, "x86-64-linux-avx-avx2-f16c-fma-sse41"};
  if (name == "x86-64-avx512")
    return TargetInfo{name, kAvx512, ScheduleFamily::X86, 64, "cc", {}, kAvx512};
  if (name == "x86-64-avx512-vnni")  // Cascade Lake, Ice Lake, Zen 4 and later
    return TargetInfo{name, kAvx512, ScheduleFamily::X86, 64, "cc", {}, kAvx512Vnni};
  if (name == "aarch64")
    return TargetInfo{name, "arm-64-linux", ScheduleFamily::Arm, 16, "aarch64-linux-gnu-gcc",
                      {}};
  if (name == "aarch64-dotprod")  // SDOT for the integer dot products
    return TargetInfo{name, "arm-64-linux-arm_dot_prod", ScheduleFamily::Arm, 16,
                      "aarch64-linux-gnu-gcc", {"-march=armv8.2-a+dotprod"},
                      "arm-64-linux-arm_dot_prod"};
  return std::nullopt;
}

std::vector<std::string> targetNames() {
  return {"host",    "x86-64-avx2",    "x86-64-avx512", "x86-64-avx512-vnni",
          "aarch64", "aarch64-dotprod"};
}

bool compileKernel(KernelOp kernel, const std::string &symbol, const TargetInfo &target,
                   const std::string &objectPath, std::string &error) {
  try {
    KernelAlgorithm algorithm = buildKernelAlgorithm(
        kernel, target.family == ScheduleFamily::Arm ? IntegerDotForm::SignedWeights
                                                     : IntegerDotForm::UnsignedWeights);
    if (target.family == ScheduleFamily::X86)
      scheduleX86Kernel(algorithm, target);
    else
      scheduleArmKernel(algorithm, target);
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
    halideTarget = halideTarget.with_feature(Halide::Target::NoRuntime);
    Halide::Pipeline pipeline(outputs);
    // KILN_PRINT_LOOP_NEST=1 shows each kernel's schedule (for schedule work).
    if (const char *print = std::getenv("KILN_PRINT_LOOP_NEST"); print && *print == '1') {
      std::cerr << "kernel " << kernel.getSymName().str() << ":\n";
      pipeline.print_loop_nest();
    }
    pipeline.compile_to_object(objectPath, arguments, symbol, halideTarget);
    return true;
  } catch (const Halide::Error &e) {
    error = "kernel " + kernel.getSymName().str() + ": Halide: " + e.what();
  } catch (const std::exception &e) {
    error = "kernel " + kernel.getSymName().str() + ": " + e.what();
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
