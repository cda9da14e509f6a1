//===- ArmBackend.cpp - AArch64 (NEON, dot product) -----------------------===//
//
// AArch64 uses the shared CPU templates with NEON's 4 float32 lanes; the dot-product
// extension (SDOT, signed x signed) serves the quantized kernels. 32-bit ARMv7-A (armhf)
// has the same lanes and half the registers.
//
//===----------------------------------------------------------------------===//
#include "targets/cpu/CpuBackend.h"

namespace kiln {
namespace {

class ArmBackend final : public CpuBackend {
public:
  std::string family() const override { return "arm"; }
  bool signedIntegerDots() const override { return true; }
  std::vector<TargetInfo> targets() const override {
    TargetInfo plain;
    plain.name = "aarch64";
    plain.halideTarget = "arm-64-linux";
    plain.backend = this;
    plain.vectorBytes = 16;
    plain.cc = "aarch64-linux-gnu-gcc";
    plain.description = "AArch64 Linux with NEON (Cortex-A53/A72, Graviton 1)";
    TargetInfo dotprod = plain;
    dotprod.name = "aarch64-dotprod";  // SDOT for the integer dot products
    dotprod.halideTarget = "arm-64-linux-arm_dot_prod";
    dotprod.ccFlags = {"-march=armv8.2-a+dotprod"};
    dotprod.integerDotTarget = dotprod.halideTarget;
    dotprod.description = "AArch64 Linux with the dot-product extension (Cortex-A76+, Graviton 2+)";
    // ARMv7-A with NEON, hard-float Linux (Debian's armhf): 16 q registers, 4 float lanes.
    TargetInfo armhf;
    armhf.name = "armhf";
    armhf.halideTarget = "arm-32-linux";
    armhf.backend = this;
    armhf.vectorBytes = 16;
    armhf.cc = "arm-linux-gnueabihf-gcc";
    armhf.ccFlags = {"-march=armv7-a", "-mfpu=neon", "-mfloat-abi=hard"};
    armhf.description = "32-bit ARMv7-A Linux with NEON, hard float (Cortex-A7/A9/A15, Raspberry Pi 2)";
    return {plain, dotprod, armhf};
  }

protected:
  CpuRegisterTiles registerTiles(const TargetInfo &target) const override {
    CpuRegisterTiles tiles;
    tiles.vectorLanes = target.vectorBytes / 4;
    if (llvm::StringRef(target.halideTarget).starts_with("arm-32")) {
      // 16 q registers: 4 rows x 2 vectors = 8 accumulators, the rest for operands.
      tiles.gemmRows = 4;
      tiles.gemmVectors = 2;
      tiles.convChannels = 4;
      tiles.convVectors = 2;
      return tiles;
    }
    // 32 NEON q registers: 8 rows x 2 vectors of 4 floats = 16 accumulators.
    tiles.gemmRows = 8;
    tiles.gemmVectors = 2;
    tiles.convChannels = 8;
    tiles.convVectors = 2;
    return tiles;
  }
};

} // namespace

const TargetBackend &armBackend() {
  static const ArmBackend backend;
  return backend;
}

} // namespace kiln
