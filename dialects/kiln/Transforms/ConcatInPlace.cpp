//===- ConcatInPlace.cpp - concatenations written by their producers ------===//
//
// See Passes.td. Runs after kernel formation, right before memory planning, which places
// the slices (PlanMemory.cpp).
//
//===----------------------------------------------------------------------===//
#include "dialects/kiln/Transforms/Passes.h"

#include "dialects/kiln/IR/KilnOps.h"
#include "mlir/IR/Builders.h"
#include "llvm/ADT/DenseSet.h"

namespace kiln {
#define GEN_PASS_DEF_CONCATINPLACEPASS
#include "dialects/kiln/Transforms/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace kiln {
namespace {

/// The concatenation a kernel consists of (each block argument once, in order, yielded);
/// null otherwise.
ConcatOp onlyConcat(KernelOp kernel) {
  Block &body = kernel.getBody().front();
  if (body.getOperations().size() != 2 || kernel->getNumResults() != 1)
    return {};
  auto concat = dyn_cast<ConcatOp>(body.front());
  if (!concat || concat.getInputs().size() != body.getNumArguments())
    return {};
  for (auto [input, argument] : llvm::zip(concat.getInputs(), body.getArguments()))
    if (input != argument)
      return {};
  return concat;
}

/// The kernel result whose buffer `value` is (through reshape views); null if it is an
/// argument, a constant or anything else.
Value producingKernelResult(Value value) {
  while (auto reshape = value.getDefiningOp<ReshapeOp>())
    value = reshape.getInput();
  return value.getDefiningOp<KernelOp>() ? value : Value();
}

struct ConcatInPlacePass : impl::ConcatInPlacePassBase<ConcatInPlacePass> {
  void runOnOperation() override {
    llvm::DenseSet<Value> claimed;  // kernel results already placed in a concatenation
    SmallVector<KernelOp> kernels;
    getOperation().walk([&](KernelOp kernel) { kernels.push_back(kernel); });
    for (KernelOp kernel : kernels) {
      ConcatOp concat = onlyConcat(kernel);
      if (!concat)
        continue;
      auto type = llvm::cast<RankedTensorType>(concat.getType());
      int64_t axis = concat.getAxis();
      if (!type.hasStaticShape() ||
          llvm::any_of(type.getShape().take_front(axis), [](int64_t d) { return d != 1; }))
        continue;  // slices would be strided
      SmallVector<Value> roots;
      for (Value input : kernel->getOperands()) {
        Value root = producingKernelResult(input);
        if (!root || claimed.contains(root) || llvm::is_contained(roots, root))
          break;
        roots.push_back(root);
      }
      if (roots.size() != kernel->getNumOperands())
        continue;
      claimed.insert(roots.begin(), roots.end());
      OpBuilder builder(kernel);
      auto view = ConcatOp::create(builder, kernel.getLoc(), type, kernel->getOperands(),
                                   builder.getI64IntegerAttr(axis));
      view->setAttr("kiln.in_place", builder.getUnitAttr());
      view->setAttr("kiln.kernel_name", kernel.getSymNameAttr());
      kernel->getResult(0).replaceAllUsesWith(view.getResult());
      kernel->erase();
    }
  }
};

} // namespace
} // namespace kiln
