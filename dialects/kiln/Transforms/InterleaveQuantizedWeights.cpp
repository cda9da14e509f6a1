//===- InterleaveQuantizedWeights.cpp - 16-row interleaved Q8_0/Q4_0 weights ===//
//
// See Passes.td. Runs after kiln-quantize-weights, and only for targets with 8-bit dot
// products (the driver decides); the layout itself is compiler/quantize's interleaveRows.
//
//===----------------------------------------------------------------------===//
#include "dialects/kiln/Transforms/Passes.h"

#include "compiler/quantize/GgmlQuants.h"
#include "dialects/kiln/IR/KilnConstants.h"
#include "dialects/kiln/IR/KilnOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectResourceBlobManager.h"

namespace kiln {
#define GEN_PASS_DEF_INTERLEAVEQUANTIZEDWEIGHTSPASS
#include "dialects/kiln/Transforms/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace kiln {
namespace {

/// A 2-D convolution with one group (a matmul per output pixel over its window) with at
/// least `minChannels` output channels, or `minWindowChannels` when the window is larger
/// than 1x1 or strided: each pixel's K window values are quantized (and transposed) once per
/// call, which costs about as much per pixel as 64 output channels of integer products save.
bool worthIntegerConv(ConvOp conv, int64_t minChannels, int64_t minWindowChannels) {
  auto shape = llvm::cast<RankedTensorType>(conv.getWeight().getType()).getShape();
  if (conv.getGroups() != 1 || shape.size() != 4)
    return false;
  auto ones = [](ArrayRef<int64_t> v) { return llvm::all_of(v, [](int64_t x) { return x == 1; }); };
  bool pointwise = ones(shape.drop_front(2)) && ones(conv.getStrides()) &&
                   llvm::all_of(conv.getPads(), [](int64_t p) { return p == 0; });
  return shape[0] >= (pointwise ? minChannels : minWindowChannels);
}

/// Every user reads `op`'s result as the weight of a matmul (rows along axis 1 of [K, N])
/// or of a 2-D convolution (rows along axis 0 of [F, C, kh, kw]).
bool onlyContractionWeights(DequantizeOp op, int64_t minConvChannels,
                            int64_t minWindowConvChannels) {
  ArrayRef<int64_t> shape = op.getType().getShape();
  bool matmulLayout = shape.size() == 2 && op.getRowAxis() == 1;
  bool convLayout = shape.size() == 4 && op.getRowAxis() == 0;
  return llvm::all_of(op->getUses(), [&](OpOperand &use) {
    if (auto matmul = dyn_cast<MatmulOp>(use.getOwner()))
      return matmulLayout && use.getOperandNumber() == 1;
    if (auto conv = dyn_cast<ConvOp>(use.getOwner()))
      return convLayout && use.get() == conv.getWeight() &&
             worthIntegerConv(conv, minConvChannels, minWindowConvChannels);
    return false;
  });
}

struct InterleaveQuantizedWeightsPass
    : impl::InterleaveQuantizedWeightsPassBase<InterleaveQuantizedWeightsPass> {
  using InterleaveQuantizedWeightsPassBase::InterleaveQuantizedWeightsPassBase;

  void runOnOperation() override {
    std::vector<DequantizeOp> candidates;
    getOperation().walk([&](DequantizeOp op) { candidates.push_back(op); });
    for (DequantizeOp op : candidates) {
      GgmlQuantFormat format;
      if (!parseGgmlQuantFormat(op.getFormat().str(), format))  // every GGML format has a twin
        continue;
      auto constant = op.getPacked().getDefiningOp<ConstantOp>();
      ArrayRef<int64_t> shape = op.getType().getShape();
      int64_t rows = shape[op.getRowAxis()];
      if (!constant || rows % kInterleavedRows != 0 || op->use_empty() ||
          !onlyContractionWeights(op, minConvChannels, minWindowConvChannels))
        continue;
      std::vector<char> raw = constantBytes(constant.getValue());
      std::vector<uint8_t> interleaved;
      std::string error;
      if (!interleaveRows(format, reinterpret_cast<const uint8_t *>(raw.data()), raw.size(),
                          rows, op.getRowLength(), interleaved, error)) {
        op->emitError("cannot interleave quantized weights: ") << error;
        return signalPassFailure();
      }
      OpBuilder builder(op);
      // [groups, blocks, bytes of one block of 16 rows]: a block's 16 rows are contiguous.
      int64_t blocks = op.getRowLength() / kGgmlBlockLength;
      auto packedType = RankedTensorType::get(
          {rows / kInterleavedRows, blocks, kInterleavedRows * ggmlBlockBytes(format)},
          llvm::cast<RankedTensorType>(constant.getType()).getElementType());
      std::string name = "weight";
      if (auto nameAttr = constant->getAttrOfType<StringAttr>("kiln.name"))
        name = nameAttr.str();
      AsmResourceBlob blob = HeapAsmResourceBlob::allocateAndCopyWithAlign(
          ArrayRef<char>(reinterpret_cast<const char *>(interleaved.data()),
                         interleaved.size()),
          64);
      auto packed = ConstantOp::create(
          builder, constant.getLoc(), packedType,
          DenseResourceElementsAttr::get(packedType, name + ".x16", std::move(blob)));
      // Same GGUF name and dims as the GGML tensor; the type id tells the arrangement.
      packed->setAttr("kiln.name", builder.getStringAttr(name));
      packed->setAttr("kiln.ggml_type", builder.getI64IntegerAttr(interleavedTypeId(format)));
      if (auto dims = constant->getAttr("kiln.ggml_dims"))
        packed->setAttr("kiln.ggml_dims", dims);
      auto view = DequantizeOp::create(builder, op.getLoc(), op.getType(), packed, Value(),
                                       builder.getStringAttr(interleavedFormatName(format)),
                                       op.getRowAxisAttr(), op.getRowLengthAttr());
      op.getResult().replaceAllUsesWith(view.getResult());
      op->erase();
      if (constant->use_empty())
        constant->erase();
    }
  }
};

} // namespace
} // namespace kiln
