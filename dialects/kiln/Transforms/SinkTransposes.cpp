//===- SinkTransposes.cpp - move transposes down, merge and drop them -----===//
//
// See Passes.td. Exported models transpose between layouts often (NCHW <-> NHWC around
// attention and sequence heads, squeeze/unsqueeze written as transposes); every transpose
// that stays is a kernel of its own and a pass over memory. Two rewrites, applied to a fixed
// point together with TransposeOp's folder (which composes consecutive transposes and drops
// identities):
//   1. a transpose that moves only axes of extent 1 -> reshape (a view, no kernel);
//   2. an elementwise op on transposed operands -> the transpose of the op on the
//      untransposed ones, so transposes meet and compose, or reach the end of a chain.
//
//===----------------------------------------------------------------------===//
#include "dialects/kiln/Transforms/Passes.h"

#include "dialects/kiln/IR/KilnOps.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace kiln {
#define GEN_PASS_DEF_SINKTRANSPOSESPASS
#include "dialects/kiln/Transforms/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace kiln {
namespace {

struct UnitAxisTransposeToReshape : OpRewritePattern<TransposeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(TransposeOp op, PatternRewriter &rewriter) const override {
    ArrayRef<int64_t> shape = op.getInput().getType().getShape();
    int64_t last = -1;
    for (int64_t axis : op.getPerm()) {
      if (shape[axis] == 1)
        continue;
      if (axis < last)
        return failure();  // two axes of extent > 1 change order: a real transpose
      last = axis;
    }
    rewriter.replaceOpWithNewOp<ReshapeOp>(op, op.getType(), op.getInput());
    return success();
  }
};

/// True when `value` broadcasts the same way whatever the axis order: a single element.
bool layoutFree(Value value) {
  return llvm::cast<RankedTensorType>(value.getType()).getNumElements() == 1;
}

struct SinkThroughElementwise : RewritePattern {
  SinkThroughElementwise(MLIRContext *context)
      : RewritePattern(MatchAnyOpTypeTag(), /*benefit=*/1, context) {}
  LogicalResult matchAndRewrite(Operation *op, PatternRewriter &rewriter) const override {
    if (!isElementwise(op) || op->getNumResults() != 1 || op->getNumOperands() == 0)
      return failure();
    auto resultType = llvm::cast<RankedTensorType>(op->getResult(0).getType());
    // Every operand is a transpose by the same permutation, read only here, with the
    // result's shape (no broadcasting across the permuted axes), or a single element.
    TransposeOp first;
    for (Value operand : op->getOperands()) {
      if (layoutFree(operand))
        continue;
      auto transpose = operand.getDefiningOp<TransposeOp>();
      if (!transpose || transpose.getType().getShape() != resultType.getShape() ||
          llvm::any_of(transpose->getUsers(), [&](Operation *user) { return user != op; }))
        return failure();
      if (first && first.getPerm() != transpose.getPerm())
        return failure();
      first = transpose;
    }
    if (!first)
      return failure();
    SmallVector<Value> operands;
    for (Value operand : op->getOperands()) {
      auto transpose = operand.getDefiningOp<TransposeOp>();
      operands.push_back(transpose && !layoutFree(operand) ? transpose.getInput() : operand);
    }
    auto inputType = llvm::cast<RankedTensorType>(first.getInput().getType());
    Operation *moved = rewriter.clone(*op);
    moved->setOperands(operands);
    moved->getResult(0).setType(
        RankedTensorType::get(inputType.getShape(), resultType.getElementType()));
    rewriter.replaceOpWithNewOp<TransposeOp>(op, resultType, moved->getResult(0),
                                             first.getPermAttr());
    return success();
  }
};

struct SinkTransposesPass : impl::SinkTransposesPassBase<SinkTransposesPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<UnitAxisTransposeToReshape, SinkThroughElementwise>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
} // namespace kiln
