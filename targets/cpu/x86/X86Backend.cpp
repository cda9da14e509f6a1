//===- X86Backend.cpp - x86-64 (AVX2, AVX-512, VNNI) ----------------------===//
//
// x86 uses the shared CPU templates with the target's vector width: 8 float32 lanes for
// AVX2, 16 for AVX-512, and VPDPBUSD (or VPMADDWD pairs) for integer dot products on
// unsigned weight bytes.
//
//===----------------------------------------------------------------------===//
#include "targets/cpu/CpuBackend.h"

namespace kiln {
namespace {

// Integer dot products: Halide 14 emits VPDPBUSD for the avx512_sapphirerapids feature (it
// has no separate VNNI flag; the LLVM module it links the instruction's wrapper from needs
// plain avx512 too). Without it the same 4-way u8 x i8 sums lower to VPMADDWD pairs: on the
// 2-core Zen 4 VM, 4096x11008 q4_0 matrix-vector 1.07 ms (VNNI) vs 1.89 ms (AVX-512BW) vs
// 4.0 ms (AVX2) at 1 thread, against 9-10 ms for the float decode path.
const char kAvx2[] = "x86-64-linux-avx-avx2-f16c-fma-sse41";
const char kAvx512[] = "x86-64-linux-avx-avx2-avx512-avx512_skylake-f16c-fma-sse41";
const char kAvx512Vnni[] =
    "x86-64-linux-avx-avx2-avx512-avx512_skylake-avx512_cannonlake-avx512_sapphirerapids-"
    "f16c-fma-sse41";

class X86Backend final : public CpuBackend {
public:
  std::string family() const override { return "x86"; }
  std::vector<TargetInfo> targets() const override {
    auto target = [&](const char *name, const char *halide, int vectorBytes,
                      const char *integerDot, const char *description) {
      TargetInfo info;
      info.name = name;
      info.halideTarget = halide;
      info.backend = this;
      info.vectorBytes = vectorBytes;
      info.cc = "cc";
      info.integerDotTarget = integerDot;
      info.description = description;
      return info;
    };
    return {target("x86-64-avx2", kAvx2, 32, kAvx2, "x86-64 Linux with AVX2 and FMA (Haswell, Zen 1 and later)"),
            target("x86-64-avx512", kAvx512, 64, kAvx512, "x86-64 Linux with AVX-512 (Skylake-SP and later)"),
            target("x86-64-avx512-vnni", kAvx512, 64, kAvx512Vnni,
                   "x86-64 Linux with AVX-512 VNNI (Cascade Lake, Ice Lake, Zen 4 and later)")};
  }

protected:
  CpuRegisterTiles registerTiles(const TargetInfo &target) const override {
    CpuRegisterTiles tiles;
    tiles.vectorLanes = target.vectorBytes / 4;
    // 32 zmm registers (AVX-512): 8 rows x 2 vectors = 16 accumulators + loads/broadcasts.
    // 16 ymm registers (AVX2): 6 rows x 2 vectors = 12 accumulators.
    tiles.gemmRows = tiles.vectorLanes >= 16 ? 8 : 6;
    tiles.gemmVectors = 2;
    tiles.convChannels = tiles.vectorLanes >= 16 ? 8 : 6;
    // Two vectors of output pixels per register tile where rows are wide enough (8
    // channels x 2 vectors = 16 accumulators on AVX-512).
    tiles.convVectors = tiles.vectorLanes >= 16 ? 2 : 1;
    return tiles;
  }
};

} // namespace

const TargetBackend &x86Backend() {
  static const X86Backend backend;
  return backend;
}

} // namespace kiln
