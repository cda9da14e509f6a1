//===- WasmBackend.cpp - WebAssembly with WASI (wasm32-wasi) --------------===//
//
// A WebAssembly command module for WASI hosts (Node's WASI, wasmtime): Halide 14's wasm
// target with 128-bit SIMD, without its runtime, asserts or bounds queries, linked by
// clang with Debian's wasi-libc. WASI has no threads, so the artifact uses the
// freestanding runtime (kernels' scratch planned into the arena, loops in order) and plans
// have no parallel loops. Files are the host's, through the directories it preopens
// (scripts/run-wasi.js preopens /).
//
//===----------------------------------------------------------------------===//
#include "targets/cpu/CpuBackend.h"

namespace kiln {
namespace {

class WasmBackend final : public CpuBackend {
public:
  std::string family() const override { return "wasm"; }
  bool signedIntegerDots() const override { return true; }
  std::vector<TargetInfo> targets() const override {
    TargetInfo wasm;
    wasm.name = "wasm32-wasi";
    wasm.halideTarget = "wasm-32-wasmrt-wasm_simd128-no_asserts-no_bounds_query";
    wasm.backend = this;
    wasm.vectorBytes = 16;
    wasm.cc = "clang-14";
    wasm.ccFlags = {"--target=wasm32-wasi"};
    wasm.freestanding = true;
    wasm.description = "WebAssembly with SIMD128 for WASI hosts (Node, wasmtime), one thread; "
                       "run with scripts/run-wasi.js";
    return {wasm};
  }

protected:
  CpuRegisterTiles registerTiles(const TargetInfo &) const override {
    // Engines map wasm locals to the host's 16 (x86-64) or 32 (AArch64) vector registers:
    // 4 rows x 2 vectors of 4 floats stays within the smaller file.
    CpuRegisterTiles tiles;
    tiles.vectorLanes = 4;
    tiles.gemmRows = 4;
    tiles.gemmVectors = 2;
    tiles.convChannels = 4;
    tiles.convVectors = 2;
    return tiles;
  }
};

} // namespace

const TargetBackend &wasmBackend() {
  static const WasmBackend backend;
  return backend;
}

} // namespace kiln
