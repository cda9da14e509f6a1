//===- FlattenPointwiseKernels.cpp - pointwise-conv kernels on flat pixels --===//
//
// See Passes.td. Runs after kernel formation, before memory planning (the reshapes it adds
// outside the kernels are views: they alias their input's buffer).
//
//===----------------------------------------------------------------------===//
#include "dialects/kiln/Transforms/Passes.h"

#include "dialects/kiln/IR/KilnOps.h"
#include "mlir/IR/Builders.h"

namespace kiln {
#define GEN_PASS_DEF_FLATTENPOINTWISEKERNELSPASS
#include "dialects/kiln/Transforms/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace kiln {
namespace {

bool allEqual(ArrayRef<int64_t> values, int64_t v) {
  return llvm::all_of(values, [&](int64_t x) { return x == v; });
}

/// A float weight packed by kiln-pack-conv-weights, read through its view (inside a
/// kernel, where the packed constant is a block argument: FormKernels' isWeightView looks
/// for the constant itself, and also accepts quantized weights, which are not flattened).
bool isPackedWeightView(Operation *op) {
  return isa<FromStripsOp>(op) || (isa<TransposeOp>(op) && op->hasAttr("kiln.weight_view"));
}

/// The one float pointwise convolution of a kernel whose other ops are elementwise, with
/// stride 1 and no padding on a map at least `minWidth` wide; null otherwise. Its weight is
/// a kernel input or a packed weight's view (not a quantized weight: those take the
/// integer kernels).
ConvOp flattenableConv(KernelOp kernel, int64_t minWidth) {
  ConvOp found;
  for (Operation &op : kernel.getBody().front().without_terminator()) {
    if (auto conv = dyn_cast<ConvOp>(op)) {
      if (found)
        return {};
      found = conv;
    } else if (!isElementwise(&op) && !isa<ConstantOp>(op) && !isPackedWeightView(&op)) {
      return {};
    }
  }
  if (!found)
    return {};
  auto weight = llvm::cast<RankedTensorType>(found.getWeight().getType());
  ArrayRef<int64_t> result = found.getType().getShape();
  Operation *view = found.getWeight().getDefiningOp();
  if ((view && !isPackedWeightView(view)) || !weight.getElementType().isF32() ||
      weight.getRank() != 4 || weight.getShape()[2] != 1 || weight.getShape()[3] != 1 ||
      found.getGroups() != 1 || !allEqual(found.getStrides(), 1) || !allEqual(found.getPads(), 0) ||
      result[2] < 2 || result[3] < minWidth)
    return {};
  return found;
}

/// [.., H, W] -> [.., 1, H * W]; null when the type does not end in the map's dims.
RankedTensorType flatType(Type type, int64_t height, int64_t width) {
  auto ranked = llvm::dyn_cast<RankedTensorType>(type);
  if (!ranked || ranked.getRank() != 4 || ranked.getShape()[2] != height ||
      ranked.getShape()[3] != width)
    return {};
  SmallVector<int64_t> shape(ranked.getShape());
  shape[2] = 1;
  shape[3] = height * width;
  return RankedTensorType::get(shape, ranked.getElementType());
}

struct FlattenPointwiseKernelsPass
    : impl::FlattenPointwiseKernelsPassBase<FlattenPointwiseKernelsPass> {
  using FlattenPointwiseKernelsPassBase::FlattenPointwiseKernelsPassBase;

  void runOnOperation() override {
    SmallVector<KernelOp> kernels;
    getOperation().walk([&](KernelOp kernel) { kernels.push_back(kernel); });
    for (KernelOp kernel : kernels)
      if (ConvOp conv = flattenableConv(kernel, minWidth))
        flatten(kernel, conv);
  }

  /// Every value of the kernel is [.., H, W] (flattened), a per-channel or scalar broadcast
  /// ([.., 1, 1], or a single element; left alone), or a weight; anything else (a row or
  /// column broadcast, a rank-1 operand broadcast along W) keeps the kernel as it is, as
  /// does a constant of the map's shape (its attribute would need rewriting).
  void flatten(KernelOp kernel, ConvOp conv) {
    int64_t height = conv.getType().getShape()[2], width = conv.getType().getShape()[3];
    Block &body = kernel.getBody().front();
    auto mapped = [&](Value value) -> int {  // 1 flatten, 0 leave, -1 give up
      if (flatType(value.getType(), height, width)) {
        Value outside = value;
        if (auto argument = llvm::dyn_cast<BlockArgument>(value))
          outside = kernel->getOperand(argument.getArgNumber());
        return outside.getDefiningOp<ConstantOp>() ? -1 : 1;
      }
      auto ranked = llvm::cast<RankedTensorType>(value.getType());
      if (ranked.getRank() < 2)
        return ranked.getNumElements() == 1 ? 0 : -1;
      ArrayRef<int64_t> shape = ranked.getShape();
      return shape[shape.size() - 1] == 1 && shape[shape.size() - 2] == 1 ? 0 : -1;
    };
    for (Operation &op : body.without_terminator()) {
      if (isPackedWeightView(&op))
        continue;
      if (&op == conv.getOperation()) {
        if (mapped(conv.getInput()) != 1)
          return;
        continue;
      }
      if (isa<ConstantOp>(op)) {  // the conv's bias, or an elementwise operand checked there
        if (flatType(op.getResult(0).getType(), height, width))
          return;
        continue;
      }
      for (Value value : op.getOperands())
        if (mapped(value) < 0)
          return;
      for (Value value : op.getResults())
        if (mapped(value) < 0)
          return;
    }
    // Inputs: reshape outside, retype the block argument.
    OpBuilder before(kernel);
    for (auto [operand, argument] : llvm::zip(kernel->getOpOperands(), body.getArguments())) {
      RankedTensorType flat = flatType(argument.getType(), height, width);
      if (!flat || argument == conv.getWeight())
        continue;
      auto reshape = ReshapeOp::create(before, kernel.getLoc(), flat, operand.get());
      operand.set(reshape);
      argument.setType(flat);
    }
    for (Operation &op : body.without_terminator())
      for (Value value : isPackedWeightView(&op) ? ValueRange() : op.getResults())
        if (RankedTensorType flat = flatType(value.getType(), height, width))
          value.setType(flat);
    // Results: retype, reshape back outside for the other users.
    OpBuilder after(kernel->getBlock(), std::next(kernel->getIterator()));
    for (Value result : kernel.getResults()) {
      RankedTensorType flat = flatType(result.getType(), height, width);
      if (!flat)
        continue;
      Type original = result.getType();
      result.setType(flat);
      auto reshape = ReshapeOp::create(after, kernel.getLoc(), original, result);
      result.replaceAllUsesExcept(reshape, reshape);
    }
  }
};

} // namespace
} // namespace kiln
