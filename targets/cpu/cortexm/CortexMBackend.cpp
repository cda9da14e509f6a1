//===- CortexMBackend.cpp - Cortex-M microcontrollers, bare metal ---------===//
//
// Cortex-M4/M7/M33 (single-precision FPU, DSP extension) and M55 (Helium, MVE: 128-bit
// vectors of 4 floats or 16 int8) without an operating system. Halide 14 has no Cortex-M
// target, so kernels are built for its generic 32-bit ARM without NEON, runtime, asserts
// or bounds queries, emitted as LLVM bitcode and lowered by `llc` for the Thumb triple and
// CPU (Targets.cpp): LLVM then picks the FPU, DSP and MVE instructions itself. Plans are
// the CPU templates' without parallel loops (one core, no threads); Winograd is off because
// its transformed weights are 1.8x larger and flash is what these parts lack.
//
// Each target names the qemu-system-arm board its executables run on and that board's
// memory map: code in the boot memory, data and stack in SRAM, the weights in the large
// external RAM that stands for QSPI flash.
//
//===----------------------------------------------------------------------===//
#include "targets/cpu/CpuBackend.h"

namespace kiln {
namespace {

class CortexMBackend final : public CpuBackend {
public:
  std::string family() const override { return "cortex-m"; }
  bool signedIntegerDots() const override { return true; }
  std::vector<TargetInfo> targets() const override {
    auto make = [this](const char *name, const char *cpu, const char *triple,
                       std::vector<std::string> ccFlags, const char *machine,
                       const char *description) {
      TargetInfo info;
      info.name = name;
      info.halideTarget = "arm-32-noos-no_neon-no_asserts-no_bounds_query";
      info.backend = this;
      info.vectorBytes = 16;
      info.cc = "arm-none-eabi-gcc";
      info.ccFlags = {std::string("-mcpu=") + cpu, "-mthumb", "-mfloat-abi=hard"};
      info.ccFlags.insert(info.ccFlags.end(), ccFlags.begin(), ccFlags.end());
      info.description = description;
      BareMetalTarget board;
      board.llcTriple = triple;
      board.llcCpu = cpu;
      board.qemuMachine = machine;
      info.bareMetal = board;
      info.freestanding = true;
      // No integerDotTarget: quantized weights (--quantize) are decoded to float where a
      // kernel reads them. As int8 dot products LLVM 22 makes them SMLABB (M4, one 16-bit
      // MAC) or VMUL.I16 + VADD.I32 (M55), not SMLAD or VMLADAV, and the DS-CNN keyword
      // spotter took 21.8M / 10.7M instructions instead of 12.5M / 3.2M (q8_0, qemu).
      return info;
    };
    // The MPS2/MPS3 FPGA boards qemu models: AN386 (M4) and AN500 (M7) boot from SSRAM1 at
    // 0, with SSRAM2/3 at 0x20000000 and 16 MB of PSRAM at 0x21000000 (AN386) or 0x60000000
    // (AN500); AN505 (M33, secure) boots at 0x10000000 with SRAM at 0x38000000 and PSRAM at
    // 0x80000000; AN547 (M55) boots from its 512 KB ITCM with DDR at 0x60000000.
    TargetInfo m4 = make("cortex-m4", "cortex-m4", "thumbv7em-none-eabihf",
                         {"-mfpu=fpv4-sp-d16"}, "mps2-an386",
                         "Cortex-M4F bare metal (STM32F4, nRF52); runs on qemu's mps2-an386");
    m4.bareMetal->codeOrigin = 0x00000000, m4.bareMetal->codeBytes = 0x400000;
    m4.bareMetal->ramOrigin = 0x20000000, m4.bareMetal->ramBytes = 0x400000;
    m4.bareMetal->weightsOrigin = 0x21000000, m4.bareMetal->weightsBytes = 0x1000000;
    TargetInfo m7 = make("cortex-m7", "cortex-m7", "thumbv7em-none-eabihf", {"-mfpu=fpv5-d16"},
                         "mps2-an500", "Cortex-M7 bare metal (STM32F7/H7, i.MX RT); runs on "
                         "qemu's mps2-an500");
    m7.bareMetal->codeOrigin = 0x00000000, m7.bareMetal->codeBytes = 0x400000;
    m7.bareMetal->ramOrigin = 0x20000000, m7.bareMetal->ramBytes = 0x400000;
    m7.bareMetal->weightsOrigin = 0x60000000, m7.bareMetal->weightsBytes = 0x1000000;
    TargetInfo m33 = make("cortex-m33", "cortex-m33", "thumbv8m.main-none-eabihf",
                          {"-mfpu=fpv5-sp-d16"}, "mps2-an505",
                          "Cortex-M33 bare metal (nRF5340, STM32U5); runs on qemu's mps2-an505");
    m33.bareMetal->codeOrigin = 0x10000000, m33.bareMetal->codeBytes = 0x400000;
    m33.bareMetal->ramOrigin = 0x38000000, m33.bareMetal->ramBytes = 0x400000;
    m33.bareMetal->weightsOrigin = 0x80000000, m33.bareMetal->weightsBytes = 0x1000000;
    TargetInfo m55 = make("cortex-m55", "cortex-m55", "thumbv8.1m.main-none-eabihf", {},
                          "mps3-an547", "Cortex-M55 bare metal with Helium (MVE) vectors "
                          "(Alif Ensemble); runs on qemu's mps3-an547");
    m55.bareMetal->codeOrigin = 0x00000000, m55.bareMetal->codeBytes = 0x80000;
    m55.bareMetal->ramOrigin = 0x21000000, m55.bareMetal->ramBytes = 0x400000;
    m55.bareMetal->weightsOrigin = 0x60000000, m55.bareMetal->weightsBytes = 0x1000000;
    m55.bareMetal->systickHz = 32000000;
    return {m4, m7, m33, m55};
  }
  LayoutOptions layoutOptions(const TargetInfo &target) const override {
    LayoutOptions options = CpuBackend::layoutOptions(target);
    options.winograd = false;
    return options;
  }

protected:
  CpuRegisterTiles registerTiles(const TargetInfo &) const override {
    // 4 x 4 accumulators: on the M55 4 of its 8 q registers, leaving room for operands; on
    // the others 16 of the FPU's 32 single-precision registers (LLVM unrolls the 4-lane
    // "vectors" into scalar operations).
    CpuRegisterTiles tiles;
    tiles.vectorLanes = 4;
    tiles.gemmRows = 4;
    tiles.gemmVectors = 1;
    tiles.convChannels = 4;
    tiles.convVectors = 1;
    tiles.smallScratch = true;
    return tiles;
  }
};

} // namespace

const TargetBackend &cortexMBackend() {
  static const CortexMBackend backend;
  return backend;
}

} // namespace kiln
