//===- FuseLayerNorm.cpp - recognize decomposed layer normalization -------===//
//
// See Passes.td. Exporters (PaddlePaddle's, older PyTorch opsets) write LayerNormalization
// as ReduceMean, Sub, Pow, ReduceMean, Add, Sqrt, Div. Matched from the final division (or
// multiplication by a reciprocal) backwards; every matched op must compute exactly the
// normalization, so the replacement is exact up to rounding.
//
//===----------------------------------------------------------------------===//
#include "dialects/kiln/Transforms/Passes.h"

#include "dialects/kiln/IR/KilnConstants.h"
#include "dialects/kiln/IR/KilnOps.h"
#include "mlir/IR/Builders.h"

namespace kiln {
#define GEN_PASS_DEF_FUSELAYERNORMPASS
#include "dialects/kiln/Transforms/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace kiln {
namespace {

/// The single value of a one-element float constant, if `value` is one.
std::optional<double> scalarConstant(Value value) {
  auto constant = value.getDefiningOp<ConstantOp>();
  if (!constant)
    return std::nullopt;
  auto values = readConstant(constant.getValue());
  if (!values || values->isInteger || values->floats.size() != 1)
    return std::nullopt;
  return values->floats[0];
}

/// The first normalized axis if `op` is a keep-dims mean over the trailing axes of `input`
/// (axes axis..rank-1).
std::optional<int64_t> trailingMean(Operation *op, Value input) {
  auto reduce = dyn_cast_or_null<ReduceOp>(op);
  if (!reduce || reduce.getInput() != input || reduce.getKind() != "mean")
    return std::nullopt;
  auto inType = llvm::cast<RankedTensorType>(input.getType());
  auto outType = llvm::cast<RankedTensorType>(reduce.getType());
  ArrayRef<int64_t> axes = reduce.getAxes();
  if (axes.empty() || outType.getRank() != inType.getRank())
    return std::nullopt;
  for (size_t i = 0; i < axes.size(); ++i)
    if (axes[i] != inType.getRank() - int64_t(axes.size()) + int64_t(i))
      return std::nullopt;
  return axes.front();
}

/// `x - mean(x)` over trailing axes: returns (x, first axis).
std::optional<std::pair<Value, int64_t>> centered(Value value) {
  auto sub = value.getDefiningOp<SubOp>();
  if (!sub || sub.getType() != sub.getLhs().getType())
    return std::nullopt;
  auto axis = trailingMean(sub.getRhs().getDefiningOp(), sub.getLhs());
  if (!axis)
    return std::nullopt;
  return std::make_pair(sub.getLhs(), *axis);
}

/// `sqrt(mean((d)^2) + epsilon)` over trailing axes from `axis`: returns epsilon.
std::optional<double> standardDeviation(Value value, Value deviation, int64_t axis) {
  auto sqrt = value.getDefiningOp<SqrtOp>();
  if (!sqrt)
    return std::nullopt;
  auto add = sqrt.getInput().getDefiningOp<AddOp>();
  if (!add)
    return std::nullopt;
  Value variance = add.getLhs();
  std::optional<double> epsilon = scalarConstant(add.getRhs());
  if (!epsilon) {
    variance = add.getRhs();
    epsilon = scalarConstant(add.getLhs());
  }
  if (!epsilon || *epsilon < 0 || variance.getType() != add.getType())
    return std::nullopt;
  auto mean = variance.getDefiningOp<ReduceOp>();
  if (!mean)
    return std::nullopt;
  Operation *square = mean.getInput().getDefiningOp();
  bool squares = false;
  if (auto pow = dyn_cast_or_null<PowOp>(square))
    squares = pow.getLhs() == deviation && scalarConstant(pow.getRhs()) == 2.0;
  else if (auto mul = dyn_cast_or_null<MulOp>(square))
    squares = mul.getLhs() == deviation && mul.getRhs() == deviation;
  if (!squares || trailingMean(mean, mean.getInput()) != axis)
    return std::nullopt;
  return epsilon;
}

struct FuseLayerNormPass : impl::FuseLayerNormPassBase<FuseLayerNormPass> {
  void runOnOperation() override {
    SmallVector<Operation *> candidates;
    getOperation().walk([&](Operation *op) {
      if (isa<DivOp, MulOp>(op))
        candidates.push_back(op);
    });
    for (Operation *op : candidates) {
      Value deviation = op->getOperand(0), denominator = op->getOperand(1);
      if (isa<MulOp>(op)) {
        auto reciprocal = denominator.getDefiningOp<ReciprocalOp>();
        if (!reciprocal)
          continue;
        denominator = reciprocal.getInput();
      }
      auto input = centered(deviation);
      if (!input || op->getResult(0).getType() != deviation.getType() ||
          !llvm::isa<FloatType>(getElementTypeOrSelf(deviation.getType())))
        continue;
      auto epsilon = standardDeviation(denominator, deviation, input->second);
      if (!epsilon)
        continue;
      OpBuilder builder(op);
      auto norm = LayerNormOp::create(builder, op->getLoc(), deviation.getType(), input->first,
                                      builder.getI64IntegerAttr(input->second),
                                      builder.getF64FloatAttr(*epsilon));
      op->getResult(0).replaceAllUsesWith(norm.getResult());
      op->erase();
    }
  }
};

} // namespace
} // namespace kiln
