//===- ArenaScratch.cpp - kernels' scratch planned into the arena ---------===//
//
// Halide frees a buffer before the end of its Allocate scope at the latest, and scopes nest,
// so the blocks live at one point are those of the enclosing Allocates: the peak is the
// largest sum along a path. An extent that depends on a loop variable (a clamped last tile)
// is bounded over the loop's range.
//
//===----------------------------------------------------------------------===//
#include "targets/common/ArenaScratch.h"

#include <stdexcept>

namespace kiln {

using namespace Halide;
using namespace Halide::Internal;

uint64_t scratchBlockBytes(uint64_t bytes) { return 64 + (bytes + 63) / 64 * 64; }

Stmt ArenaScratchPass::visit(const For *op) {
  Interval range = bounds_of_expr_in_scope(op->min, bounds);
  Interval last = bounds_of_expr_in_scope(simplify(op->min + op->extent - 1), bounds);
  ScopedBinding<Interval> bind(bounds, op->name, Interval(range.min, last.max));
  return IRMutator::visit(op);
}

Stmt ArenaScratchPass::visit(const LetStmt *op) {
  ScopedBinding<Interval> bind(bounds, op->name, bounds_of_expr_in_scope(op->value, bounds));
  return IRMutator::visit(op);
}

Stmt ArenaScratchPass::visit(const Allocate *op) {
  bool movable = !op->new_expr.defined() &&
                 (op->memory_type == MemoryType::Auto || op->memory_type == MemoryType::Heap ||
                  op->memory_type == MemoryType::Stack);
  if (!movable)
    return IRMutator::visit(op);
  Expr size = make_const(UInt(64), op->type.bytes());
  for (const Expr &extent : op->extents)
    size = size * cast(UInt(64), extent);
  size = simplify(size);
  const uint64_t *constant = as_const_uint(size);
  if (constant && *constant <= kStackBufferBytes && op->memory_type != MemoryType::Heap)
    return IRMutator::visit(op);
  uint64_t bytes = 0;
  if (constant) {
    bytes = *constant;
  } else {
    Expr upper = simplify(bounds_of_expr_in_scope(size, bounds).max);
    const uint64_t *bound = upper.defined() ? as_const_uint(upper) : nullptr;
    if (!bound)
      throw std::runtime_error("buffer '" + op->name + "' of kernel " + kernel +
                               " has no size bound at compile time, so it cannot be planned "
                               "into the arena");
    bytes = *bound;
  }
  // Halide asks halide_malloc for one element more (CodeGen_Posix's allocation padding:
  // a vector load may read one scalar past the end).
  uint64_t block = scratchBlockBytes(bytes + op->type.bytes());
  live += block;
  peak = std::max(peak, live);
  Stmt body = mutate(op->body);
  live -= block;
  return Allocate::make(op->name, op->type, MemoryType::Heap, op->extents, op->condition, body,
                        op->new_expr, op->free_function);
}

} // namespace kiln
