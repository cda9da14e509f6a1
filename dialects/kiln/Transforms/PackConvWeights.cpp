//===- PackConvWeights.cpp - output-channel-innermost weights for narrow convs ===//
//
// See Passes.td. Runs after canonicalization (which would fold the transpose back into the
// constant) and before kernel formation (which clones the transpose into the conv kernel as
// a re-indexing view of the packed buffer).
//
//===----------------------------------------------------------------------===//
#include "dialects/kiln/Transforms/Passes.h"

#include "dialects/kiln/IR/KilnConstants.h"
#include "dialects/kiln/IR/KilnOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectResourceBlobManager.h"

namespace kiln {
#define GEN_PASS_DEF_PACKCONVWEIGHTSPASS
#include "dialects/kiln/Transforms/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace kiln {
namespace {

struct PackConvWeightsPass : impl::PackConvWeightsPassBase<PackConvWeightsPass> {
  using PackConvWeightsPassBase::PackConvWeightsPassBase;

  void runOnOperation() override {
    getOperation().walk([&](ConvOp conv) {
      auto constant = conv.getWeight().getDefiningOp<ConstantOp>();
      auto type = llvm::cast<RankedTensorType>(conv.getWeight().getType());
      auto result = conv.getType().getShape();
      // Also windows over rows that whole vectors fit badly (a third of their lanes or more
      // wasted: 17 and 35 wide, Inception-v3's 1x7, 7x1 and 3x3 layers); pointwise
      // convolutions run on flat rows instead (kiln-flatten-pointwise-kernels).
      int64_t width = result.back();
      bool window = type.getRank() == 4 && type.getShape()[2] * type.getShape()[3] > 1;
      bool raggedRows = window && (width + strip - 1) / strip * strip * 10 > 13 * width;
      // A grouped convolution (not depthwise) is packed when its groups are whole strips,
      // so that no vector across output channels straddles two groups.
      int64_t groups = conv.getGroups();
      bool wholeGroups = groups == 1 || (type.getRank() == 4 && type.getShape()[1] > 1 &&
                                         type.getShape()[0] / groups % strip == 0);
      if (!constant || type.getRank() != 4 || !type.getElementType().isF32() || !wholeGroups ||
          (width > maxWidth && !raggedRows))
        return;
      std::vector<char> bytes = constantBytes(constant.getValue());
      if (bytes.size() != size_t(type.getNumElements()) * 4)
        return;
      ArrayRef<int64_t> s = type.getShape();  // [F, C, kh, kw]
      int64_t f = s[0], inner = s[1] * s[2] * s[3];
      // Strips of 16 output channels where F allows: [F/16, C, kh, kw, 16]; else [C, kh, kw, F].
      bool strips = f % strip == 0;
      const float *from = reinterpret_cast<const float *>(bytes.data());
      std::vector<float> packed;
      if (strips) {
        appendChannelStrips(packed, from, f, inner, inner, 1, f, strip);
      } else {
        packed.resize(bytes.size() / 4);
        for (int64_t o = 0; o < f; ++o)
          for (int64_t i = 0; i < inner; ++i)
            packed[i * f + o] = from[o * inner + i];
      }
      OpBuilder builder(conv);
      auto packedType =
          strips ? RankedTensorType::get({f / strip, s[1], s[2], s[3], strip}, type.getElementType())
                 : RankedTensorType::get({s[1], s[2], s[3], s[0]}, type.getElementType());
      ConstantOp packedConstant =
          createRearrangedWeight(builder, constant, packedType, "packed", packed);
      Value view;
      if (strips) {
        view = FromStripsOp::create(builder, conv.getLoc(), type, packedConstant,
                                    builder.getI64IntegerAttr(strip));
      } else {
        auto transpose = TransposeOp::create(builder, conv.getLoc(), type, packedConstant,
                                             builder.getDenseI64ArrayAttr({3, 0, 1, 2}));
        // Codegen reads this transpose as an index remapping of the packed buffer.
        transpose->setAttr("kiln.weight_view", builder.getUnitAttr());
        view = transpose;
      }
      conv.getWeightMutable().assign(view);
      if (constant->use_empty())
        constant->erase();
    });
  }
};

} // namespace
} // namespace kiln
