//===- OpenClBackend.cpp - GPUs (and CPUs) through OpenCL -----------------===//
//
// Halide emits OpenCL C, compiled by the driver at open. The host side is an x86-64 or
// AArch64 Linux executable that loads libOpenCL.so.1 (the ICD loader) at open; in CI the
// kernels run on PoCL, an OpenCL implementation for CPUs.
//
//===----------------------------------------------------------------------===//
#include "targets/gpu/GpuBackend.h"

namespace kiln {
namespace {

class OpenClBackend final : public GpuBackend {
public:
  std::string family() const override { return "opencl"; }
  std::vector<TargetInfo> targets() const override {
    TargetInfo x86;
    x86.name = "opencl";
    x86.halideTarget = "x86-64-linux-avx-avx2-f16c-fma-sse41-opencl";
    x86.backend = this;
    x86.cc = "cc";
    x86.description = "OpenCL 1.2 device, x86-64 Linux host (AMD, Intel, NVIDIA GPUs; PoCL)";
    TargetInfo arm = x86;
    arm.name = "opencl-aarch64";
    arm.halideTarget = "arm-64-linux-opencl";
    arm.cc = "aarch64-linux-gnu-gcc";
    arm.description = "OpenCL 1.2 device, AArch64 Linux host (Mali, Adreno boards)";
    return {x86, arm};
  }
  RuntimeNeeds runtimeNeeds(const TargetInfo &) const override {
    RuntimeNeeds needs;
    needs.api = DeviceApi::OpenCl;
    needs.apiName = "OpenCL";
    needs.driverLibrary = "libOpenCL.so.1";
    needs.interfaceGetter = "halide_opencl_device_interface";
    needs.runtimeHeader = "HalideRuntimeOpenCL.h";
    return needs;
  }
};

} // namespace

const TargetBackend &openClBackend() {
  static const OpenClBackend backend;
  return backend;
}

} // namespace kiln
