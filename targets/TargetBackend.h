//===- TargetBackend.h - one seam per target family -----------------------===//
//
// A target family (x86, AArch64, CUDA, OpenCL, Metal) is a TargetBackend in its own folder
// under targets/. The backend owns every decision that depends on the chip: the target
// names it accepts and their Halide target strings and C toolchains, the options of the
// layout passes (strip widths, Winograd, interleaved quantized weights), the KernelPlan
// for each kernel and how a plan is applied to the target-independent algorithm, and what
// the artifact needs at run time (a device API, link flags). Everything above this header
// (pipeline, artifact builder, driver) asks the backend instead of testing target names.
//
// This header stays free of Halide's headers so the driver and the pipeline compile
// quickly; the algorithm type is only declared here.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_TARGETS_TARGETBACKEND_H
#define KILN_TARGETS_TARGETBACKEND_H

#include "targets/KernelPlan.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace kiln {

struct KernelAlgorithm;
class TargetBackend;

/// The GPU API an artifact drives at run time; None for CPU targets.
enum class DeviceApi { None, Cuda, OpenCl, Metal };

/// How an artifact is packaged: a Linux executable that runs here (or under qemu), or the
/// parts a macOS build needs (Metal cannot be linked on this machine).
enum class ArtifactPackaging { Executable, MacBuildKit };

/// A microcontroller without an OS (the Cortex-M targets): kernels go to LLVM bitcode and
/// `llc`, the artifact runs on the freestanding runtime (no heap, no threads; every scratch
/// buffer planned into the arena), and an executable is a semihosting program for one of
/// qemu-system-arm's boards, whose memory map places its sections.
struct BareMetalTarget {
  std::string llcTriple;      // e.g. "thumbv7em-none-eabihf"
  std::string llcCpu;         // e.g. "cortex-m4"
  std::string llcFeatures;    // -mattr, e.g. "-mve" (empty: the CPU's defaults)
  std::string qemuMachine;    // e.g. "mps2-an386"
  uint64_t codeOrigin = 0, codeBytes = 0;        // code and read-only data
  uint64_t ramOrigin = 0, ramBytes = 0;          // data, bss, heap and stack
  uint64_t weightsOrigin = 0, weightsBytes = 0;  // .rodata.kiln_weights (external flash)
  uint64_t systickHz = 25000000;  // the board's SysTick clock (instruction counts)
};

struct TargetInfo {
  std::string name;          // what the user typed
  std::string halideTarget;  // e.g. "x86-64-linux-avx-avx2-f16c-fma-sse41"
  const TargetBackend *backend = nullptr;
  int vectorBytes = 16;      // natural SIMD width of the host CPU
  std::string cc;            // C compiler that builds and links the artifact
  std::vector<std::string> ccFlags;
  /// Halide target for kernels with 8-bit integer dot products (quantized matmuls on
  /// interleaved weights); empty when the target has no fast way to do them (aarch64 and
  /// GPUs for now). Only those kernels use it: with VNNI it carries Halide 14's Sapphire
  /// Rapids feature, which also tunes for that CPU, so float kernels keep `halideTarget`.
  std::string integerDotTarget;
  /// One line for `kiln targets`.
  std::string description;
  /// The freestanding runtime (runtime/src/freestanding.c) instead of the hosted one: no
  /// threads, no files, kernels' scratch planned into the arena. Bare-metal targets and
  /// WebAssembly (WASI has no threads).
  bool freestanding = false;
  /// Set for bare-metal targets (see BareMetalTarget).
  std::optional<BareMetalTarget> bareMetal;
};

/// Options of the layout passes, chosen by the backend for its kernels.
struct LayoutOptions {
  /// Output channels per strip of packed weights (kiln-pack-conv-weights,
  /// kiln-pack-matmul-weights, kiln-winograd-conv); 0 leaves weights in ONNX layout.
  int64_t channelStrip = 16;
  /// 3x3 stride-1 convolutions may run as Winograd F(4x4)/F(2x2) on transformed weights.
  bool winograd = true;
  /// Quantized weights may be interleaved for integer dot products (see integerDotTarget).
  bool interleaveQuantized = false;
  /// 1x1 convolution kernels run on flattened (N, C, 1, H*W) images.
  bool flattenPointwise = true;
  /// Byte alignment of every tensor in the arena (kiln-plan-memory). OpenCL views a
  /// tensor as a sub-buffer, whose origin must be a multiple of the device's
  /// CL_DEVICE_MEM_BASE_ADDR_ALIGN (1024 bits on PoCL, up to 4096 on GPUs).
  int64_t arenaAlignment = 64;
};

/// What the generated glue and the link step need for the device (GPU targets).
struct RuntimeNeeds {
  DeviceApi api = DeviceApi::None;
  std::string apiName;          // "CUDA", "OpenCL", "Metal" (in messages)
  std::string driverLibrary;    // loaded explicitly at open, e.g. "libcuda.so.1"
  std::string interfaceGetter;  // Halide's device interface, e.g. "halide_cuda_device_interface"
  std::string runtimeHeader;    // e.g. "HalideRuntimeCuda.h"
  ArtifactPackaging packaging = ArtifactPackaging::Executable;
  std::vector<std::string> linkFlags;
};

class TargetBackend {
public:
  virtual ~TargetBackend() = default;
  /// The family's name as it appears in plans ("x86", "arm", "cuda", "opencl", "metal").
  virtual std::string family() const = 0;
  /// Target names the backend accepts, each with its description.
  virtual std::vector<TargetInfo> targets() const = 0;
  virtual LayoutOptions layoutOptions(const TargetInfo &target) const = 0;
  /// The heuristic plan for a kernel whose algorithm has been built.
  virtual KernelPlan planKernel(const KernelAlgorithm &algorithm,
                                const TargetInfo &target) const = 0;
  /// Schedules `algorithm` as `plan` says. Throws std::runtime_error when the plan does
  /// not fit the kernel (its message says which stage and why).
  virtual void applyPlan(KernelAlgorithm &algorithm, const KernelPlan &plan,
                         const TargetInfo &target) const = 0;
  virtual RuntimeNeeds runtimeNeeds(const TargetInfo &target) const = 0;
  /// The knobs of `heuristic` (this backend's plan for a kernel) a tuner may turn, with the
  /// values worth measuring (`kiln tune`). Empty: the backend's plans are not tunable.
  virtual std::vector<PlanKnob> planSpace(const KernelPlan &heuristic,
                                          const TargetInfo &target) const {
    (void)heuristic;
    (void)target;
    return {};
  }
  /// Integer dot products multiply signed weights (AArch64 SDOT) rather than unsigned
  /// ones (x86 VPDPBUSD).
  virtual bool signedIntegerDots() const { return false; }
  /// A concatenation feeding more work in its kernel is built as one copy per input into
  /// its slice (Halide update definitions the CPU schedules vectorize), not as a chain of
  /// selects that loads every input for every element.
  virtual bool concatenatesBySlices() const { return false; }
};

/// The machine architecture, as uname names it ("x86_64", "aarch64"), whose Linux CPUs run
/// the target's executables; "" for GPU, bare-metal and WebAssembly targets and for CPU
/// families kiln tune does not time (`kiln tune` compares it with the machine it measures on).
std::string targetMachineArch(const TargetInfo &target);

/// The target named `name`, or std::nullopt (see targetNames() for the list).
std::optional<TargetInfo> findTarget(const std::string &name);
std::vector<std::string> targetNames();
/// Every target with its description, for `kiln targets`.
std::vector<TargetInfo> allTargets();

} // namespace kiln

#endif
