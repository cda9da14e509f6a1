//===- Passes.h - kiln pass entry points ----------------------------------===//
//
// Declares the passes generated from Passes.td and a registration hook for kiln-opt.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_DIALECT_TRANSFORMS_PASSES_H
#define KILN_DIALECT_TRANSFORMS_PASSES_H

#include "dialects/kiln/IR/KilnDialect.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Pass/Pass.h"

namespace kiln {

class ConstantOp;

#define GEN_PASS_DECL
#include "dialects/kiln/Transforms/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "dialects/kiln/Transforms/Passes.h.inc"

/// Whether an op computes each result element from the same-index elements of its
/// operands (after broadcasting), so it can be fused into its producer's kernel.
bool isElementwise(mlir::Operation *op);

/// A float weight stored rearranged at compile time from the constant `from`: a
/// dense_resource constant of `type` holding `values` (row-major), its blob named after
/// `from`'s plus "." + `suffix`, and `from`'s name kept as `kiln.name` for reports.
ConstantOp createRearrangedWeight(mlir::OpBuilder &builder, ConstantOp from,
                                  mlir::RankedTensorType type, llvm::StringRef suffix,
                                  llvm::ArrayRef<float> values);

/// Appends to `to` a weight of `channels` output channels and `others` values per channel
/// (value (c, r) at from[c * channelStride + r * otherStride]) in strips of `strip`
/// channels: [paddedChannels / strip, others, strip], zero past `channels` (the layout
/// `kiln.from_strips` reads).
void appendChannelStrips(std::vector<float> &to, const float *from, int64_t channels,
                         int64_t others, int64_t channelStride, int64_t otherStride,
                         int64_t paddedChannels, int64_t strip);

} // namespace kiln

#endif
