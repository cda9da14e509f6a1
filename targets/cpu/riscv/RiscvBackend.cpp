//===- RiscvBackend.cpp - RISC-V 64 (RV64GC Linux) ------------------------===//
//
// RV64GC has no SIMD that Halide 14 targets by default (its vector support is
// experimental and needs a fixed vector length), so kernels are scalar. The templates still
// see 4-lane "vectors", which LLVM lowers to 4 independent scalar operations (an unroll),
// and register tiles sized for 32 floating-point registers.
//
//===----------------------------------------------------------------------===//
#include "targets/cpu/CpuBackend.h"

namespace kiln {
namespace {

class RiscvBackend final : public CpuBackend {
public:
  std::string family() const override { return "riscv"; }
  std::vector<TargetInfo> targets() const override {
    TargetInfo rv64;
    rv64.name = "riscv64";
    rv64.halideTarget = "riscv-64-linux";
    rv64.backend = this;
    rv64.vectorBytes = 16;
    rv64.cc = "riscv64-linux-gnu-gcc";
    rv64.description = "64-bit RISC-V Linux, RV64GC, scalar kernels (SiFive U74, T-Head C910)";
    return {rv64};
  }
  RuntimeNeeds runtimeNeeds(const TargetInfo &) const override {
    RuntimeNeeds needs;
    needs.linkFlags = {"-latomic"};  // RV64GC has no byte-sized atomic exchange
    return needs;
  }

protected:
  CpuRegisterTiles registerTiles(const TargetInfo &) const override {
    CpuRegisterTiles tiles;
    tiles.vectorLanes = 4;
    // 32 f registers: 4 rows x 4 lanes = 16 accumulators leaves room for operands.
    tiles.gemmRows = 4;
    tiles.gemmVectors = 1;
    tiles.convChannels = 4;
    tiles.convVectors = 1;
    return tiles;
  }
};

} // namespace

const TargetBackend &riscvBackend() {
  static const RiscvBackend backend;
  return backend;
}

} // namespace kiln
