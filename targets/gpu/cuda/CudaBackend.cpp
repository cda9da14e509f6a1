//===- CudaBackend.cpp - NVIDIA GPUs through CUDA -------------------------===//
//
// Halide 14 emits PTX for compute capability up to 8.6; newer GPUs (Hopper, sm_90) run it
// through the driver's JIT. The host side is an x86-64 or AArch64 (Jetson) Linux
// executable that loads libcuda.so.1 at open.
//
//===----------------------------------------------------------------------===//
#include "targets/gpu/GpuBackend.h"

namespace kiln {
namespace {

class CudaBackend final : public GpuBackend {
public:
  std::string family() const override { return "cuda"; }
  std::vector<TargetInfo> targets() const override {
    auto target = [&](const char *name, const char *halide, const char *cc,
                      const char *description) {
      TargetInfo info;
      info.name = name;
      info.halideTarget = halide;
      info.backend = this;
      info.cc = cc;
      info.description = description;
      return info;
    };
    return {
        target("cuda", "x86-64-linux-avx-avx2-f16c-fma-sse41-cuda-cuda_capability_86", "cc",
               "NVIDIA GPU via CUDA, x86-64 Linux host (PTX for sm_86; Ampere, Ada, Hopper)"),
        target("cuda-sm80", "x86-64-linux-avx-avx2-f16c-fma-sse41-cuda-cuda_capability_80", "cc",
               "NVIDIA GPU via CUDA, x86-64 Linux host (PTX for sm_80: A100 and later)"),
        target("cuda-sm75", "x86-64-linux-avx-avx2-f16c-fma-sse41-cuda-cuda_capability_75", "cc",
               "NVIDIA GPU via CUDA, x86-64 Linux host (PTX for sm_75: Turing and later)"),
        target("cuda-aarch64", "arm-64-linux-cuda-cuda_capability_86", "aarch64-linux-gnu-gcc",
               "NVIDIA GPU via CUDA, AArch64 Linux host (Jetson Orin)"),
    };
  }
  RuntimeNeeds runtimeNeeds(const TargetInfo &) const override {
    RuntimeNeeds needs;
    needs.api = DeviceApi::Cuda;
    needs.apiName = "CUDA";
    needs.driverLibrary = "libcuda.so.1";
    needs.interfaceGetter = "halide_cuda_device_interface";
    needs.runtimeHeader = "HalideRuntimeCuda.h";
    return needs;
  }
};

} // namespace

const TargetBackend &cudaBackend() {
  static const CudaBackend backend;
  return backend;
}

} // namespace kiln
