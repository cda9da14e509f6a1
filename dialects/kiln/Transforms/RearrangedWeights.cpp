//===- RearrangedWeights.cpp - constants rearranged at compile time -------===//
//
// See Passes.h (createRearrangedWeight): shared by the passes that store a weight in the
// layout its kernel reads (kiln-pack-conv-weights, kiln-winograd-conv).
//
//===----------------------------------------------------------------------===//
#include "dialects/kiln/Transforms/Passes.h"

#include "dialects/kiln/IR/KilnOps.h"
#include "mlir/IR/DialectResourceBlobManager.h"

using namespace mlir;

namespace kiln {

ConstantOp createRearrangedWeight(OpBuilder &builder, ConstantOp from, RankedTensorType type,
                                  StringRef suffix, ArrayRef<float> values) {
  std::string name = "weight";
  if (auto resource = llvm::dyn_cast<DenseResourceElementsAttr>(from.getValue()))
    name = resource.getRawHandle().getKey().str();
  AsmResourceBlob blob = HeapAsmResourceBlob::allocateAndCopyWithAlign(
      ArrayRef<char>(reinterpret_cast<const char *>(values.data()), values.size() * 4), 64);
  auto constant = ConstantOp::create(
      builder, from.getLoc(), type,
      DenseResourceElementsAttr::get(type, name + "." + suffix.str(), std::move(blob)));
  constant->setAttr("kiln.name", builder.getStringAttr(name));
  return constant;
}

} // namespace kiln
