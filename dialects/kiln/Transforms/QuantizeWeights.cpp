//===- QuantizeWeights.cpp - store matmul, conv and embedding weights quantized ===//
//
// `kiln compile --quantize FORMAT` runs this pass before kernel formation.
//
// 1. Collect the quantizable layers in program order: matmuls with a rank-2 float constant
//    right operand, convolutions with a float constant weight, gathers of rows from a
//    rank-2 float constant (embedding tables, one row per entry).
// 2. Skip the ones the policy keeps in float (the first and last matmul or conv by default,
//    `keep` matches).
//    Under a 4- or 5-bit format two kinds of layer take q8_0 instead, unless `uniform`:
//    - layers that write into a residual stream (their output is an operand of an add of
//      two computed tensors): their error is carried, undamped by any activation, through
//      every later block (llama.cpp's mixes raise ffn_down and attn_v for the same reason);
//    - small layers (under kSmallLayer weights): little to save, and they sit early in a
//      network, where an error reaches everything after. On MobileNetV2 (random weights,
//      docs/quantization.md) q4_0's output cosine goes from 0.967 (uniform) to 0.978 with
//      residual writers in q8_0 and to about 0.99 with both, for 5% more weight bytes.
// 3. Lay each weight out as rows along its reduction axis (a matmul's [K, N] weight as N
//    rows of K; a conv's [F, C, kh, kw] as F rows of C*kh*kw; an embedding table's
//    entries as rows), pad rows to a multiple of
//    32, quantize with compiler/quantize (bit-exact with ggml), and replace the operand with
//    `kiln.dequantize` of the packed constant. The packed constant keeps the weight's blob
//    name, which becomes its GGUF tensor name, and records its GGML type and dimensions.
//
//===----------------------------------------------------------------------===//
#include "dialects/kiln/Transforms/Passes.h"

#include "compiler/quantize/GgmlQuants.h"
#include "dialects/kiln/IR/KilnConstants.h"
#include "dialects/kiln/IR/KilnShapes.h"
#include "dialects/kiln/IR/KilnOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/raw_ostream.h"
#include <cstring>

namespace kiln {
#define GEN_PASS_DEF_QUANTIZEWEIGHTSPASS
#include "dialects/kiln/Transforms/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace kiln {
namespace {

struct Layer {
  Operation *op;
  OpOperand *weight;
  int64_t rowAxis;
};

/// Layers with fewer weights than this stay q8_0 under the 4- and 5-bit formats.
constexpr int64_t kSmallLayer = 8192;

/// Whether `value` (looking through adds of a constant, such as a bias) is an operand of an
/// add whose operands are both computed: the layer writes into a residual stream.
bool writesResidual(Value value) {
  for (Operation *user : value.getUsers()) {
    auto add = dyn_cast<AddOp>(user);
    if (!add)
      continue;
    Value other = add.getLhs() == value ? add.getRhs() : add.getLhs();
    if (!other.getDefiningOp<ConstantOp>())
      return true;
    if (writesResidual(add.getResult()))
      return true;
  }
  return false;
}

std::string nodeName(Operation *op) {
  std::string text;
  llvm::raw_string_ostream os(text);
  if (auto name = llvm::dyn_cast<NameLoc>(op->getLoc()))
    os << name.getName().getValue();
  else
    op->getLoc().print(os);
  return text;
}

struct QuantizeWeightsPass : impl::QuantizeWeightsPassBase<QuantizeWeightsPass> {
  using QuantizeWeightsPassBase::QuantizeWeightsPassBase;

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    bool isInt8 = format == "int8";
    GgmlQuantFormat ggml = GgmlQuantFormat::Q8_0;
    if (!isInt8 && !parseGgmlQuantFormat(format, ggml)) {
      func.emitError("unknown quantization format '") << format
          << "' (q8_0, q4_0, q4_1, q5_0, q5_1, int8)";
      return signalPassFailure();
    }
    // 1. Quantizable layers.
    std::vector<Layer> layers;
    func.walk([&](Operation *op) {
      auto isFloatConstant = [](Value v) {
        auto c = v.getDefiningOp<ConstantOp>();
        return c && llvm::cast<RankedTensorType>(c.getType()).getElementType().isF32();
      };
      if (auto matmul = dyn_cast<MatmulOp>(op)) {
        if (isFloatConstant(matmul.getRhs()) && matmul.getRhs().getType().getRank() == 2)
          layers.push_back({op, &matmul.getRhsMutable(), 1});
      } else if (auto conv = dyn_cast<ConvOp>(op)) {
        if (isFloatConstant(conv.getWeight()))
          layers.push_back({op, &conv.getWeightMutable(), 0});
      } else if (auto gather = dyn_cast<GatherOp>(op)) {
        // An embedding table [entries, width] gathered by rows: each entry is a row.
        if (isFloatConstant(gather.getInput()) && gather.getInput().getType().getRank() == 2 &&
            gather.getAxis() == 0)
          layers.push_back({op, &gather.getInputMutable(), 0});
      }
    });
    SmallVector<StringRef> keepList;
    StringRef(keep).split(keepList, ',', -1, false);
    if (report)
      llvm::outs() << "quantization (" << format << "): layer, op, weight shape, bytes\n";
    int64_t floatBytes = 0, packedBytes = 0;
    bool lowBits = !isInt8 && ggml != GgmlQuantFormat::Q8_0;
    size_t firstContraction = layers.size(), lastContraction = layers.size();
    for (size_t i = 0; i < layers.size(); ++i) {
      if (isa<GatherOp>(layers[i].op))
        continue;
      if (firstContraction == layers.size())
        firstContraction = i;
      lastContraction = i;
    }
    for (size_t i = 0; i < layers.size(); ++i) {
      Layer &layer = layers[i];
      std::string name = nodeName(layer.op);
      StringRef kind = layer.op->getName().stripDialect();
      auto constant = layer.weight->get().getDefiningOp<ConstantOp>();
      auto type = llvm::cast<RankedTensorType>(constant.getType());
      ArrayRef<int64_t> shape = type.getShape();
      int64_t rows = shape[layer.rowAxis], length = type.getNumElements() / rows;
      // 2. Policy. Rows shorter than one block (depthwise 3x3 filters: 9 values) stay float:
      // a block of padding would cost more bytes than it saves and lose most precision.
      // The ends are the first and last matmul or conv: an embedding lookup is not a layer
      // whose error the rest of the network multiplies.
      bool isGather = isa<GatherOp>(layer.op);
      bool kept = keepEnds && !isGather && (i == firstContraction || i == lastContraction);
      kept |= length < kGgmlBlockLength;
      for (StringRef k : keepList)
        kept |= k == kind || StringRef(name).contains(k);
      int64_t bytes = type.getNumElements() * 4;
      floatBytes += bytes;
      if (kept) {
        packedBytes += bytes;
        if (report)
          llvm::outs() << "  " << name << "  " << kind << "  " << shapeToString(shape)
                       << "  float " << bytes << "\n";
        continue;
      }
      GgmlQuantFormat layerFormat = ggml;
      const char *why = "";
      if (lowBits && !uniform && writesResidual(layer.op->getResult(0)))
        why = " (residual writer)";
      else if (lowBits && !uniform && type.getNumElements() < kSmallLayer)
        why = " (small layer)";
      if (*why)
        layerFormat = GgmlQuantFormat::Q8_0;
      std::string layerFormatName = isInt8 ? "int8" : ggmlQuantFormatName(layerFormat);
      // 3. Rows along the reduction axis.
      std::vector<char> raw = constantBytes(constant.getValue());
      const float *data = reinterpret_cast<const float *>(raw.data());
      std::vector<float> rowMajor(type.getNumElements());
      if (layer.rowAxis == 1) {  // [K, N] -> N rows of K
        for (int64_t k = 0; k < shape[0]; ++k)
          for (int64_t n = 0; n < shape[1]; ++n)
            rowMajor[n * length + k] = data[k * shape[1] + n];
      } else {
        std::memcpy(rowMajor.data(), data, rowMajor.size() * sizeof(float));
      }
      std::vector<uint8_t> packed;
      std::vector<float> scales;
      int64_t rowLength = length, rowBytes = length;
      std::string error;
      if (isInt8) {
        std::vector<int8_t> values;
        if (!quantizeInt8PerChannel(rowMajor.data(), rows, length, values, scales, error)) {
          layer.op->emitError("cannot quantize: ") << error;
          return signalPassFailure();
        }
        packed.assign(reinterpret_cast<uint8_t *>(values.data()),
                      reinterpret_cast<uint8_t *>(values.data()) + values.size());
      } else {
        rowLength = paddedRowLength(length);
        std::vector<float> padded = padRowsToBlock(rowMajor.data(), rows, length);
        if (!quantizeRows(layerFormat, padded.data(), rows, rowLength, packed, error)) {
          layer.op->emitError("cannot quantize: ") << error;
          return signalPassFailure();
        }
        rowBytes = ggmlQuantizedRowBytes(layerFormat, rowLength);
      }
      OpBuilder builder(layer.op);
      MLIRContext *context = &getContext();
      auto packedType = RankedTensorType::get(
          {rows, rowBytes}, IntegerType::get(context, 8, isInt8 ? IntegerType::Signless
                                                                : IntegerType::Unsigned));
      std::string blobName = "weight";
      if (auto resource = llvm::dyn_cast<DenseResourceElementsAttr>(constant.getValue()))
        blobName = resource.getRawHandle().getKey().str();
      AsmResourceBlob blob = HeapAsmResourceBlob::allocateAndCopyWithAlign(
          ArrayRef<char>(reinterpret_cast<const char *>(packed.data()), packed.size()), 64);
      auto packedConstant = ConstantOp::create(
          builder, constant.getLoc(), packedType,
          DenseResourceElementsAttr::get(packedType, blobName, std::move(blob)));
      // The GGUF tensor keeps the weight's own name (the blob key gets a suffix while the
      // float blob is still registered).
      packedConstant->setAttr("kiln.name", builder.getStringAttr(blobName));
      if (!isInt8) {
        // The weights writer stores this blob as a GGML-typed GGUF tensor [rows, rowLength].
        packedConstant->setAttr("kiln.ggml_type",
                                builder.getI64IntegerAttr(ggmlTypeId(layerFormat)));
        packedConstant->setAttr("kiln.ggml_dims", builder.getDenseI64ArrayAttr({rows, rowLength}));
      }
      Value scaleValue;
      if (isInt8) {
        auto scaleType = RankedTensorType::get({rows}, builder.getF32Type());
        std::vector<double> scaleValues(scales.begin(), scales.end());
        scaleValue = ConstantOp::create(builder, constant.getLoc(), scaleType,
                                        buildConstant(scaleType, scaleValues, {}, blobName + ".scale"));
      }
      auto dequantize = DequantizeOp::create(
          builder, constant.getLoc(), type, packedConstant, scaleValue,
          builder.getStringAttr(layerFormatName), builder.getI64IntegerAttr(layer.rowAxis),
          builder.getI64IntegerAttr(rowLength));
      layer.weight->set(dequantize);
      if (constant->use_empty())
        constant->erase();
      int64_t stored = int64_t(packed.size()) + int64_t(scales.size()) * 4;
      packedBytes += stored;
      if (report)
        llvm::outs() << "  " << name << "  " << kind << "  " << shapeToString(shape) << "  "
                     << layerFormatName << " " << stored << " (float " << bytes << ")"
                     << why << "\n";
    }
    if (report)
      llvm::outs() << "weights of quantizable layers: " << floatBytes << " bytes as float, "
                   << packedBytes << " bytes stored\n";
  }
};

} // namespace
} // namespace kiln
