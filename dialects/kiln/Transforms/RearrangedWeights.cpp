//===- RearrangedWeights.cpp - constants rearranged at compile time -------===//
//
// See Passes.h (createRearrangedWeight, appendChannelStrips): shared by the passes that store
// a weight in the layout its kernel reads (kiln-pack-conv-weights, kiln-pack-matmul-weights,
// kiln-winograd-conv).
//
//===----------------------------------------------------------------------===//
#include "dialects/kiln/Transforms/Passes.h"

#include "dialects/kiln/IR/KilnConstants.h"
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

void appendChannelStrips(std::vector<float> &to, const float *from, int64_t channels,
                         int64_t others, int64_t channelStride, int64_t otherStride,
                         int64_t paddedChannels, int64_t strip) {
  size_t base = to.size();
  to.resize(base + size_t(paddedChannels * others), 0.0f);
  for (int64_t c = 0; c < channels; ++c)
    for (int64_t r = 0; r < others; ++r)
      to[base + ((c / strip) * others + r) * strip + c % strip] =
          from[c * channelStride + r * otherStride];
}

} // namespace kiln
