//===- PackMatmulWeights.cpp - matmul weights in strips of columns ---------===//
//
// See Passes.td. Runs after canonicalization (which would fold the view back into a
// constant) and before kernel formation (which clones the view into the matmul's kernel).
//
//===----------------------------------------------------------------------===//
#include "dialects/kiln/Transforms/Passes.h"

#include "dialects/kiln/IR/KilnConstants.h"
#include "dialects/kiln/IR/KilnOps.h"
#include "mlir/IR/Builders.h"
#include "llvm/ADT/DenseMap.h"

namespace kiln {
#define GEN_PASS_DEF_PACKMATMULWEIGHTSPASS
#include "dialects/kiln/Transforms/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace kiln {
namespace {

struct PackMatmulWeightsPass : impl::PackMatmulWeightsPassBase<PackMatmulWeightsPass> {
  using PackMatmulWeightsPassBase::PackMatmulWeightsPassBase;
  void runOnOperation() override {
    llvm::DenseMap<Operation *, Value> views;  // a weight read by several matmuls packs once
    getOperation().walk([&](MatmulOp matmul) {
      auto constant = matmul.getRhs().getDefiningOp<ConstantOp>();
      auto type = llvm::cast<RankedTensorType>(matmul.getRhs().getType());
      if (!constant || type.getRank() != 2 || !type.getElementType().isF32())
        return;
      int64_t k = type.getShape()[0], n = type.getShape()[1];
      ArrayRef<int64_t> lhs = llvm::cast<RankedTensorType>(matmul.getLhs().getType()).getShape();
      // One row (batch-1 GEMV) reads each weight once either way; row-major it reads whole
      // rows (matmul_1x1024x1024: 0.058 ms row-major, 0.068 in strips).
      if (n < 2 * strip || lhs.size() < 2 || lhs[lhs.size() - 2] == 1)
        return;
      // Zero columns pad N to whole register tiles of two strips, so tiles stay aligned to
      // strips (CpuSchedule.cpp) and never read past the stored weight.
      int64_t padded = (n + 2 * strip - 1) / (2 * strip) * (2 * strip);
      Value &view = views[constant];
      if (!view) {
        std::vector<char> bytes = constantBytes(constant.getValue());
        if (bytes.size() != size_t(k * n) * 4)
          return;
        const float *from = reinterpret_cast<const float *>(bytes.data());
        std::vector<float> packed;
        appendChannelStrips(packed, from, n, k, 1, n, padded, strip);
        OpBuilder builder(constant);
        builder.setInsertionPointAfter(constant);
        auto packedType = RankedTensorType::get({padded / strip, k, strip},
                                                type.getElementType());
        ConstantOp packedConstant =
            createRearrangedWeight(builder, constant, packedType, "strips", packed);
        view = FromStripsOp::create(builder, constant.getLoc(), type, packedConstant,
                                    builder.getI64IntegerAttr(strip),
                                    builder.getI64IntegerAttr(1));
      }
      matmul.getRhsMutable().assign(view);
    });
    for (auto [constant, view] : views)
      if (constant->use_empty())
        constant->erase();
  }
};

} // namespace
} // namespace kiln
