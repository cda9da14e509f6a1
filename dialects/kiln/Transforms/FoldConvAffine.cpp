//===- FoldConvAffine.cpp - fold BatchNorm's scale and shift into conv weights ===//
//
// See Passes.td. Works on the imported form of BatchNormalization (mul by [C,1,...] then
// add of [C,1,...]); the folding itself is float arithmetic on the constants, in double,
// rounded once to float32.
//
//===----------------------------------------------------------------------===//
#include "dialects/kiln/Transforms/Passes.h"

#include "dialects/kiln/IR/KilnConstants.h"
#include "dialects/kiln/IR/KilnOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectResourceBlobManager.h"

namespace kiln {
#define GEN_PASS_DEF_FOLDCONVAFFINEPASS
#include "dialects/kiln/Transforms/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace kiln {
namespace {

/// The per-output-channel values of `value` if it is a float constant that broadcasts
/// against `result` only along axis 1 (or is a scalar); std::nullopt otherwise.
std::optional<std::vector<double>> perChannel(Value value, RankedTensorType result) {
  auto constant = value.getDefiningOp<ConstantOp>();
  if (!constant)
    return std::nullopt;
  auto values = readConstant(constant.getValue());
  auto type = llvm::cast<RankedTensorType>(constant.getType());
  if (!values || values->isInteger || type.getRank() > result.getRank())
    return std::nullopt;
  int64_t channels = result.getShape()[1];
  int64_t lead = result.getRank() - type.getRank();
  for (int64_t i = 0; i < type.getRank(); ++i) {
    int64_t axis = lead + i, extent = type.getShape()[i];
    if (extent != 1 && !(axis == 1 && extent == channels))
      return std::nullopt;
  }
  std::vector<double> out(channels);
  for (int64_t c = 0; c < channels; ++c)
    out[c] = values->floats.size() == 1 ? values->floats[0] : values->floats[c];
  return out;
}

/// The other operand of a binary op whose operands are `value` and a constant.
Value otherOperand(Operation *op, Value value) {
  if (op->getOperand(0) == value)
    return op->getOperand(1);
  if (op->getOperand(1) == value)
    return op->getOperand(0);
  return {};
}

struct FoldConvAffinePass : impl::FoldConvAffinePassBase<FoldConvAffinePass> {
  void runOnOperation() override {
    SmallVector<ConvOp> convs;
    getOperation().walk([&](ConvOp conv) { convs.push_back(conv); });
    for (ConvOp conv : convs)
      fold(conv);
  }

  void fold(ConvOp conv) {
    auto weight = conv.getWeight().getDefiningOp<ConstantOp>();
    auto type = conv.getType();
    if (!weight || !type.getElementType().isF32() || !conv->hasOneUse())
      return;
    int64_t channels = type.getShape()[1];
    std::vector<double> scale(channels, 1.0), shift(channels, 0.0);
    Value last = conv.getResult();
    Operation *user = *conv->getUsers().begin();
    bool changed = false;
    SmallVector<Operation *> chain{conv};
    // Multiply, then add (either may be missing); each must be the only reader.
    if (auto mul = dyn_cast<MulOp>(user); mul && mul.getType() == type) {
      if (auto s = perChannel(otherOperand(mul, last), type)) {
        scale = *s;
        last = mul.getResult();
        changed = true;
        chain.push_back(mul);
        user = last.hasOneUse() ? *last.getUsers().begin() : nullptr;
      }
    }
    if (auto add = dyn_cast_or_null<AddOp>(user); add && add.getType() == type &&
                                                    (last == conv.getResult() || last.hasOneUse())) {
      if (auto t = perChannel(otherOperand(add, last), type)) {
        shift = *t;
        last = add.getResult();
        changed = true;
        chain.push_back(add);
      }
    }
    if (!changed)
      return;
    auto weights = readConstant(weight.getValue());
    if (!weights)
      return;
    std::vector<double> bias(channels, 0.0);
    if (Value b = conv.getBias()) {
      auto biasValues = b.getDefiningOp<ConstantOp>()
                            ? readConstant(b.getDefiningOp<ConstantOp>().getValue())
                            : std::nullopt;
      if (!biasValues)
        return;
      bias = biasValues->floats;
    }
    int64_t perFilter = int64_t(weights->floats.size()) / channels;
    std::vector<double> folded(weights->floats.size());
    for (int64_t f = 0; f < channels; ++f) {
      for (int64_t i = 0; i < perFilter; ++i)
        folded[f * perFilter + i] = double(float(weights->floats[f * perFilter + i] * scale[f]));
      bias[f] = bias[f] * scale[f] + shift[f];
    }
    OpBuilder builder(conv);
    auto weightType = llvm::cast<RankedTensorType>(weight.getType());
    auto biasType = RankedTensorType::get({channels}, builder.getF32Type());
    std::string name = "conv";
    if (auto resource = llvm::dyn_cast<DenseResourceElementsAttr>(weight.getValue()))
      name = resource.getRawHandle().getKey().str();
    Value newWeight = ConstantOp::create(builder, weight.getLoc(), weightType,
                                         buildConstant(weightType, folded, {}, name + ".folded"));
    Value newBias = ConstantOp::create(builder, conv.getLoc(), biasType,
                                       buildConstant(biasType, bias, {}, name + ".bias"));
    auto replacement = ConvOp::create(builder, conv.getLoc(), type, conv.getInput(), newWeight,
                                      newBias, conv.getStridesAttr(), conv.getPadsAttr(),
                                      conv.getDilationsAttr(), conv.getGroupsAttr());
    last.replaceAllUsesWith(replacement.getResult());
    // Erase the now-dead chain (last first) and constants nothing else reads.
    for (Operation *op : llvm::reverse(chain)) {
      SmallVector<Value> operands(op->getOperands());
      op->erase();
      for (Value operand : operands)
        if (Operation *def = operand.getDefiningOp(); def && isa<ConstantOp>(def) && def->use_empty())
          def->erase();
    }
  }
};

} // namespace
} // namespace kiln
