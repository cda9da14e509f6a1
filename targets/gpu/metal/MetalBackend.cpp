//===- MetalBackend.cpp - Apple GPUs through Metal ------------------------===//
//
// Halide emits Metal shading language source into Mach-O objects, compiled by the Metal
// framework at open. Nothing here can link or run a Mac program, so a Metal build is a
// kit: the kernel objects, the Halide runtime object, the generated glue, the kiln runtime
// sources and headers, and a Makefile that links them on a Mac.
//
//===----------------------------------------------------------------------===//
#include "targets/gpu/GpuBackend.h"

namespace kiln {
namespace {

class MetalBackend final : public GpuBackend {
public:
  std::string family() const override { return "metal"; }
  std::vector<TargetInfo> targets() const override {
    TargetInfo arm;
    arm.name = "metal";
    arm.halideTarget = "arm-64-osx-metal";
    arm.backend = this;
    arm.cc = "cc";
    arm.description = "Apple GPU via Metal, arm64 macOS (a build kit to link on the Mac)";
    TargetInfo x86 = arm;
    x86.name = "metal-x86-64";
    x86.halideTarget = "x86-64-osx-avx-avx2-f16c-fma-sse41-metal";
    x86.description = "GPU via Metal, x86-64 macOS (a build kit to link on the Mac)";
    return {arm, x86};
  }
  RuntimeNeeds runtimeNeeds(const TargetInfo &) const override {
    RuntimeNeeds needs;
    needs.api = DeviceApi::Metal;
    needs.apiName = "Metal";
    needs.interfaceGetter = "halide_metal_device_interface";
    needs.runtimeHeader = "HalideRuntimeMetal.h";
    needs.packaging = ArtifactPackaging::MacBuildKit;
    needs.linkFlags = {"-framework", "Metal", "-framework", "Foundation"};
    return needs;
  }
};

} // namespace

const TargetBackend &metalBackend() {
  static const MetalBackend backend;
  return backend;
}

} // namespace kiln
