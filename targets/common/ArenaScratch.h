//===- ArenaScratch.h - kernels' scratch planned into the arena -----------===//
//
// For the freestanding runtime (bare-metal targets): a Halide lowering pass that sends
// every intermediate buffer of a kernel larger than a few registers to halide_malloc, which
// that runtime serves from a range of the arena, and measures the most that range must
// hold. Small constant-size buffers stay on the stack.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_TARGETS_COMMON_ARENASCRATCH_H
#define KILN_TARGETS_COMMON_ARENASCRATCH_H

#include "Halide.h"

#include <cstdint>
#include <string>

namespace kiln {

/// Bytes the freestanding runtime's halide_malloc takes for a block of `bytes`: a 64-byte
/// header, then the data rounded up to 64 (runtime/src/freestanding.c).
uint64_t scratchBlockBytes(uint64_t bytes);

/// Buffers of at most this many bytes (constant size) stay on the stack.
constexpr uint64_t kStackBufferBytes = 1024;

class ArenaScratchPass : public Halide::Internal::IRMutator {
public:
  explicit ArenaScratchPass(std::string kernel) : kernel(std::move(kernel)) {}
  /// The most scratch bytes live at once in the kernel (valid after lowering).
  uint64_t peakBytes() const { return peak; }

protected:
  using IRMutator::visit;
  Halide::Internal::Stmt visit(const Halide::Internal::Allocate *op) override;
  Halide::Internal::Stmt visit(const Halide::Internal::For *op) override;
  Halide::Internal::Stmt visit(const Halide::Internal::LetStmt *op) override;

private:
  std::string kernel;
  Halide::Internal::Scope<Halide::Internal::Interval> bounds;
  uint64_t live = 0, peak = 0;
};

} // namespace kiln

#endif
