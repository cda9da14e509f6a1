//===- KilnOps.cpp - kiln op verifiers, folders and canonicalizers --------===//
//
// Verifiers re-derive each result shape with the rules in KilnShapes.h. Folders evaluate
// ops whose operands are constants, which is how shape arithmetic (Shape -> Gather ->
// Concat -> Reshape chains) disappears after import.
//
//===----------------------------------------------------------------------===//
#include "dialects/kiln/IR/KilnOps.h"

#include "dialects/kiln/IR/KilnConstants.h"
#include "dialects/kiln/IR/KilnShapes.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/TypeUtilities.h"
#include "mlir/IR/PatternMatch.h"
#include "llvm/ADT/STLExtras.h"
#include <cmath>
#include <functional>

using namespace mlir;
using namespace kiln;

static RankedTensorType tensorType(Value value) {
  return llvm::cast<RankedTensorType>(value.getType());
}

static ArrayRef<int64_t> shapeOf(Value value) { return tensorType(value).getShape(); }

/// Row-major strides of a shape.
static SmallVector<int64_t> stridesOf(ArrayRef<int64_t> shape) {
  SmallVector<int64_t> strides(shape.size(), 1);
  for (int i = int(shape.size()) - 2; i >= 0; --i)
    strides[i] = strides[i + 1] * shape[i + 1];
  return strides;
}

/// Advances a row-major multi-index over `shape` (the last axis fastest).
static void nextIndex(SmallVectorImpl<int64_t> &index, ArrayRef<int64_t> shape) {
  for (int axis = int(shape.size()) - 1; axis >= 0; --axis) {
    if (++index[axis] < shape[axis])
      return;
    index[axis] = 0;
  }
}

/// Offset into constant `v` of the element that NumPy broadcasting reads at `index` of a
/// result of rank `resultRank`.
static int64_t broadcastOffset(const ConstantValues &v, ArrayRef<int64_t> index,
                               size_t resultRank) {
  ArrayRef<int64_t> vshape = v.type.getShape();
  SmallVector<int64_t> strides = stridesOf(vshape);
  int64_t offset = 0, lead = int64_t(resultRank - vshape.size());
  for (size_t i = 0; i < vshape.size(); ++i)
    if (vshape[i] != 1)
      offset += index[lead + i] * strides[i];
  return offset;
}

/// Builds the constant `type` whose element at each index is source element `map(index)`.
static Attribute gatherConstant(const ConstantValues &source, RankedTensorType type,
                                const std::function<int64_t(ArrayRef<int64_t>)> &map) {
  if (!mayFold(type))
    return {};
  int64_t count = type.getNumElements();
  ArrayRef<int64_t> shape = type.getShape();
  std::vector<double> floats(count);
  std::vector<int64_t> ints(source.isInteger ? count : 0);
  SmallVector<int64_t> index(shape.size(), 0);
  for (int64_t linear = 0; linear < count; ++linear) {
    int64_t from = map(index);
    floats[linear] = source.floats[from];
    if (source.isInteger)
      ints[linear] = source.ints[from];
    nextIndex(index, shape);
  }
  return buildFoldedConstant(type, floats, ints);
}

//===----------------------------------------------------------------------===//
// ConstantOp
//===----------------------------------------------------------------------===//

OpFoldResult ConstantOp::fold(FoldAdaptor) { return getValue(); }

// `kiln.constant dense<...> : tensor<...>`: the attribute carries the result type.
ParseResult ConstantOp::parse(OpAsmParser &parser, OperationState &result) {
  ElementsAttr value;
  if (parser.parseOptionalAttrDict(result.attributes) ||
      parser.parseAttribute(value, "value", result.attributes))
    return failure();
  result.addTypes(value.getType());
  return success();
}

void ConstantOp::print(OpAsmPrinter &printer) {
  printer.printOptionalAttrDict((*this)->getAttrs(), /*elidedAttrs=*/{"value"});
  printer << ' ';
  printer.printAttribute(getValue());
}

LogicalResult ConstantOp::verify() {
  if (getValue().getType() != getType())
    return emitOpError("value type ") << getValue().getType() << " differs from result type "
                                      << getType();
  return success();
}

//===----------------------------------------------------------------------===//
// Elementwise
//===----------------------------------------------------------------------===//

/// Folds a unary op on a constant operand with `fn` (in double precision).
static OpFoldResult foldUnary(Attribute operand, Type resultType,
                              const std::function<double(double)> &fn) {
  auto values = readConstant(operand);
  if (!values || values->floats.size() > 4096)
    return {};
  std::vector<double> out(values->floats.size());
  std::vector<int64_t> ints;
  for (size_t i = 0; i < out.size(); ++i) {
    out[i] = fn(values->floats[i]);
    if (values->isInteger) {
      // Integer tensors fold through double: exact for shape-sized values.
      ints.push_back(toInt64(out[i]));
      out[i] = double(ints.back());
    }
  }
  return buildFoldedConstant(llvm::cast<RankedTensorType>(resultType), out, ints);
}

OpFoldResult NegOp::fold(FoldAdaptor a) {
  return foldUnary(a.getInput(), getType(), [](double x) { return -x; });
}
OpFoldResult AbsOp::fold(FoldAdaptor a) {
  return foldUnary(a.getInput(), getType(), [](double x) { return std::fabs(x); });
}
OpFoldResult SqrtOp::fold(FoldAdaptor a) {
  return foldUnary(a.getInput(), getType(), [](double x) { return std::sqrt(x); });
}
OpFoldResult ExpOp::fold(FoldAdaptor a) {
  return foldUnary(a.getInput(), getType(), [](double x) { return std::exp(x); });
}
OpFoldResult LogOp::fold(FoldAdaptor a) {
  return foldUnary(a.getInput(), getType(), [](double x) { return std::log(x); });
}
OpFoldResult TanhOp::fold(FoldAdaptor a) {
  return foldUnary(a.getInput(), getType(), [](double x) { return std::tanh(x); });
}
OpFoldResult ErfOp::fold(FoldAdaptor a) {
  return foldUnary(a.getInput(), getType(), [](double x) { return std::erf(x); });
}
OpFoldResult SigmoidOp::fold(FoldAdaptor a) {
  return foldUnary(a.getInput(), getType(), [](double x) { return 1 / (1 + std::exp(-x)); });
}
OpFoldResult ReluOp::fold(FoldAdaptor a) {
  return foldUnary(a.getInput(), getType(), [](double x) { return x > 0 ? x : 0; });
}
OpFoldResult FloorOp::fold(FoldAdaptor a) {
  return foldUnary(a.getInput(), getType(), [](double x) { return std::floor(x); });
}
OpFoldResult CeilOp::fold(FoldAdaptor a) {
  return foldUnary(a.getInput(), getType(), [](double x) { return std::ceil(x); });
}
OpFoldResult ReciprocalOp::fold(FoldAdaptor a) {
  return foldUnary(a.getInput(), getType(), [](double x) { return 1 / x; });
}
OpFoldResult NotOp::fold(FoldAdaptor a) {
  return foldUnary(a.getInput(), getType(), [](double x) { return x != 0 ? 0.0 : 1.0; });
}

LogicalResult ClipOp::verify() {
  if (getMin().convertToDouble() > getMax().convertToDouble())
    return emitOpError("min ") << getMin().convertToDouble() << " exceeds max "
                               << getMax().convertToDouble();
  return success();
}

namespace {
/// clip(relu(x), 0, hi) -> clip(x, 0, hi): the clip's lower bound already does the relu.
struct FoldReluIntoClip : OpRewritePattern<ClipOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ClipOp op, PatternRewriter &rewriter) const override {
    auto relu = op.getInput().getDefiningOp<ReluOp>();
    if (!relu || op.getMin().convertToDouble() < 0)
      return failure();
    rewriter.modifyOpInPlace(op, [&] { op.getInputMutable().assign(relu.getInput()); });
    return success();
  }
};
} // namespace

void ClipOp::getCanonicalizationPatterns(RewritePatternSet &patterns, MLIRContext *context) {
  patterns.add<FoldReluIntoClip>(context);
}

LogicalResult CastOp::verify() {
  if (getInput().getType().getShape() != getType().getShape())
    return emitOpError("changes the shape");
  return success();
}

OpFoldResult CastOp::fold(FoldAdaptor a) {
  if (getInput().getType() == getType())
    return getInput();
  auto values = readConstant(a.getInput());
  if (!values || values->floats.size() > 4096)
    return {};
  Type to = getType().getElementType();
  std::vector<double> floats = values->floats;
  std::vector<int64_t> ints;
  if (isIntegerElement(to)) {
    for (size_t i = 0; i < floats.size(); ++i) {
      int64_t v = values->isInteger ? values->ints[i] : toInt64(std::trunc(floats[i]));
      if (to.getIntOrFloatBitWidth() == 1)
        v = values->isInteger ? v != 0 : floats[i] != 0;
      ints.push_back(v);
      floats[i] = double(v);
    }
  }
  return buildFoldedConstant(getType(), floats, ints);
}

/// Shared verifier of the binary ops: the result shape is the broadcast of the operands.
static LogicalResult verifyBinary(Operation *op) {
  auto lhs = shapeOf(op->getOperand(0)), rhs = shapeOf(op->getOperand(1));
  auto expected = broadcastShapes(lhs, rhs);
  if (!expected)
    return op->emitOpError("operand shapes ")
           << shapeToString(lhs) << " and " << shapeToString(rhs) << " do not broadcast";
  if (ArrayRef<int64_t>(*expected) != shapeOf(op->getResult(0)))
    return op->emitOpError("result shape ")
           << shapeToString(shapeOf(op->getResult(0))) << " is not the broadcast shape "
           << shapeToString(*expected);
  if (tensorType(op->getOperand(0)).getElementType() !=
      tensorType(op->getOperand(1)).getElementType())
    return op->emitOpError("operand element types differ");
  return success();
}

/// Folds a binary op on two constants with NumPy broadcasting.
static OpFoldResult foldBinary(Attribute lhsAttr, Attribute rhsAttr, Type resultType,
                               const std::function<double(double, double)> &floatFn,
                               const std::function<int64_t(int64_t, int64_t)> &intFn) {
  auto lhs = readConstant(lhsAttr), rhs = readConstant(rhsAttr);
  auto type = llvm::cast<RankedTensorType>(resultType);
  if (!lhs || !rhs || type.getNumElements() > 65536)
    return {};
  ArrayRef<int64_t> shape = type.getShape();
  int64_t count = type.getNumElements();
  std::vector<double> floats(count);
  // Integer operands compute in int64; a bool result of float operands (comparisons)
  // takes its 0/1 from the float result.
  bool isInteger = lhs->isInteger && isIntegerElement(type.getElementType());
  bool integerResult = isIntegerElement(type.getElementType());
  if (isInteger && !intFn)
    return {};
  std::vector<int64_t> ints(integerResult ? count : 0);
  SmallVector<int64_t> index(shape.size(), 0);
  for (int64_t linear = 0; linear < count; ++linear) {
    int64_t l = broadcastOffset(*lhs, index, shape.size());
    int64_t r = broadcastOffset(*rhs, index, shape.size());
    if (isInteger) {
      ints[linear] = intFn(lhs->ints[l], rhs->ints[r]);
      floats[linear] = double(ints[linear]);
    } else {
      floats[linear] = floatFn(lhs->floats[l], rhs->floats[r]);
      if (integerResult)
        ints[linear] = toInt64(floats[linear]);
    }
    nextIndex(index, shape);
  }
  return buildFoldedConstant(type, floats, ints);
}

#define KILN_BINARY_OP(OP, FLOAT_EXPR, INT_EXPR)                                              \
  LogicalResult OP::verify() { return verifyBinary(getOperation()); }                         \
  OpFoldResult OP::fold(FoldAdaptor a) {                                                      \
    return foldBinary(                                                                        \
        a.getLhs(), a.getRhs(), getType(), [](double x, double y) { return FLOAT_EXPR; },     \
        INT_EXPR);                                                                            \
  }

// Integer folds wrap around in two's complement, as the kernels do (signed overflow in
// C++ is undefined, and models do overflow); x / 0 and x % 0 fold to 0.
KILN_BINARY_OP(AddOp, x + y,
               [](int64_t x, int64_t y) { return int64_t(uint64_t(x) + uint64_t(y)); })
KILN_BINARY_OP(SubOp, x - y,
               [](int64_t x, int64_t y) { return int64_t(uint64_t(x) - uint64_t(y)); })
KILN_BINARY_OP(MulOp, x *y,
               [](int64_t x, int64_t y) { return int64_t(uint64_t(x) * uint64_t(y)); })
KILN_BINARY_OP(DivOp, x / y, [](int64_t x, int64_t y) -> int64_t {
  return y == 0 ? 0 : y == -1 ? int64_t(0 - uint64_t(x)) : x / y;
})
KILN_BINARY_OP(PowOp, std::pow(x, y), nullptr)
KILN_BINARY_OP(MaxOp, std::fmax(x, y), [](int64_t x, int64_t y) { return std::max(x, y); })
KILN_BINARY_OP(MinOp, std::fmin(x, y), [](int64_t x, int64_t y) { return std::min(x, y); })
KILN_BINARY_OP(ModOp, x - std::floor(x / y) * y, [](int64_t x, int64_t y) -> int64_t {
  if (y == 0 || y == -1) return 0;
  int64_t r = x % y;
  return (r != 0 && ((r < 0) != (y < 0))) ? r + y : r;
})
KILN_BINARY_OP(FmodOp, std::fmod(x, y),
               [](int64_t x, int64_t y) -> int64_t { return y == 0 || y == -1 ? 0 : x % y; })
KILN_BINARY_OP(AndOp, double(x != 0 && y != 0),
               [](int64_t x, int64_t y) -> int64_t { return x != 0 && y != 0; })
KILN_BINARY_OP(OrOp, double(x != 0 || y != 0),
               [](int64_t x, int64_t y) -> int64_t { return x != 0 || y != 0; })
KILN_BINARY_OP(XorOp, double((x != 0) != (y != 0)),
               [](int64_t x, int64_t y) -> int64_t { return (x != 0) != (y != 0); })
KILN_BINARY_OP(ShiftLeftOp, 0, [](int64_t x, int64_t y) -> int64_t {
  return uint64_t(y) >= 64 ? 0 : int64_t(uint64_t(x) << y);
})
KILN_BINARY_OP(ShiftRightOp, 0, [](int64_t x, int64_t y) -> int64_t {
  return uint64_t(y) >= 64 ? 0 : int64_t(uint64_t(x) >> y);
})

LogicalResult ClassifyOp::verify() {
  if (getKind() != "nan" && getKind() != "inf" && getKind() != "pos_inf" &&
      getKind() != "neg_inf")
    return emitOpError("unknown kind \"") << getKind() << "\"";
  if (getInput().getType().getShape() != getType().getShape() ||
      !getType().getElementType().isInteger(1))
    return emitOpError("result must be a bool tensor of the input's shape");
  return success();
}

LogicalResult CompareOp::verify() {
  static const char *predicates[] = {"eq", "lt", "le", "gt", "ge"};
  if (!llvm::is_contained(predicates, getPredicate()))
    return emitOpError("unknown predicate \"") << getPredicate() << "\"";
  auto expected = broadcastShapes(shapeOf(getLhs()), shapeOf(getRhs()));
  if (!expected || ArrayRef<int64_t>(*expected) != shapeOf(getResult()))
    return emitOpError("result shape is not the broadcast of the operand shapes");
  if (getLhs().getType().getElementType() != getRhs().getType().getElementType())
    return emitOpError("operand element types differ");
  if (!getType().getElementType().isInteger(1))
    return emitOpError("result must be bool");
  return success();
}

OpFoldResult CompareOp::fold(FoldAdaptor a) {
  std::string p = getPredicate().str();
  auto holds = [p](auto x, auto y) -> bool {
    return p == "eq" ? x == y : p == "lt" ? x < y : p == "le" ? x <= y : p == "gt" ? x > y : x >= y;
  };
  return foldBinary(
      a.getLhs(), a.getRhs(), getType(),
      [holds](double x, double y) { return double(holds(x, y)); },
      [holds](int64_t x, int64_t y) -> int64_t { return holds(x, y); });
}

LogicalResult SelectOp::verify() {
  auto partial = broadcastShapes(shapeOf(getCondition()), shapeOf(getLhs()));
  auto expected = partial ? broadcastShapes(*partial, shapeOf(getRhs())) : std::nullopt;
  if (!expected || ArrayRef<int64_t>(*expected) != shapeOf(getResult()))
    return emitOpError("result shape is not the broadcast of the operand shapes");
  if (getLhs().getType().getElementType() != getRhs().getType().getElementType() ||
      getLhs().getType().getElementType() != getType().getElementType())
    return emitOpError("value operands and result must share an element type");
  return success();
}

OpFoldResult SelectOp::fold(FoldAdaptor a) {
  auto condition = readConstant(a.getCondition());
  auto lhs = readConstant(a.getLhs()), rhs = readConstant(a.getRhs());
  if (!condition || !lhs || !rhs || getType().getNumElements() > 4096)
    return {};
  ArrayRef<int64_t> shape = getType().getShape();
  auto at = [&](const ConstantValues &v, ArrayRef<int64_t> index) {
    return broadcastOffset(v, index, shape.size());
  };
  int64_t count = getType().getNumElements();
  std::vector<double> floats(count);
  std::vector<int64_t> ints(lhs->isInteger ? count : 0);
  SmallVector<int64_t> index(shape.size(), 0);
  for (int64_t linear = 0; linear < count; ++linear) {
    bool pick = condition->floats[at(*condition, index)] != 0;
    const ConstantValues &from = pick ? *lhs : *rhs;
    int64_t offset = at(from, index);
    floats[linear] = from.floats[offset];
    if (lhs->isInteger)
      ints[linear] = from.ints[offset];
    nextIndex(index, shape);
  }
  return buildFoldedConstant(getType(), floats, ints);
}

LogicalResult ArgReduceOp::verify() {
  if (getKind() != "max" && getKind() != "min")
    return emitOpError("kind must be max or min");
  int64_t rank = shapeOf(getInput()).size();
  // The axis attribute is unsigned in ODS: read it as signed so a negative one is caught.
  int64_t axis = int64_t(getAxis());
  if (axis < 0 || axis >= rank)
    return emitOpError("axis out of range");
  return success();
}
#undef KILN_BINARY_OP

namespace {
/// x + 0 -> x and x * 1 -> x when the constant does not widen x by broadcasting.
template <typename OpTy, int Identity>
struct DropIdentityOperand : OpRewritePattern<OpTy> {
  using OpRewritePattern<OpTy>::OpRewritePattern;
  LogicalResult matchAndRewrite(OpTy op, PatternRewriter &rewriter) const override {
    for (int side = 0; side < 2; ++side) {
      Value constant = op->getOperand(side), other = op->getOperand(1 - side);
      Attribute attr;
      if (!matchPattern(constant, m_Constant(&attr)) || other.getType() != op.getType())
        continue;
      auto values = readConstant(attr);
      if (!values || values->floats.size() > 4096 ||
          !llvm::all_of(values->floats, [](double v) { return v == Identity; }))
        continue;
      rewriter.replaceOp(op, other);
      return success();
    }
    return failure();
  }
};
} // namespace

void AddOp::getCanonicalizationPatterns(RewritePatternSet &patterns, MLIRContext *context) {
  patterns.add<DropIdentityOperand<AddOp, 0>>(context);
}
void MulOp::getCanonicalizationPatterns(RewritePatternSet &patterns, MLIRContext *context) {
  patterns.add<DropIdentityOperand<MulOp, 1>>(context);
}

//===----------------------------------------------------------------------===//
// Contractions and windows
//===----------------------------------------------------------------------===//

static LogicalResult checkResultShape(Operation *op, const std::optional<Shape> &expected,
                                      const std::string &error) {
  if (!expected)
    return op->emitOpError(error);
  ArrayRef<int64_t> actual = shapeOf(op->getResult(0));
  if (actual != ArrayRef<int64_t>(*expected))
    return op->emitOpError("result shape ")
           << shapeToString(actual) << " differs from the expected " << shapeToString(*expected);
  return success();
}

static LogicalResult checkBias(Operation *op, Value bias, int64_t channels) {
  if (bias && (shapeOf(bias).size() != 1 || shapeOf(bias)[0] != channels))
    return op->emitOpError("bias must have shape [") << channels << "]";
  return success();
}

LogicalResult ConvOp::verify() {
  std::string error;
  auto expected = convResultShape(shapeOf(getInput()), shapeOf(getWeight()), getStrides(),
                                  getPads(), getDilations(), getGroups(), error);
  if (failed(checkResultShape(*this, expected, error)))
    return failure();
  return checkBias(*this, getBias(), shapeOf(getWeight())[0]);
}

LogicalResult WinogradConvOp::verify() {
  int64_t m = getTile();
  if (m != 2 && m != 4)
    return emitOpError("tile must be 2 or 4, got ") << m;
  ArrayRef<int64_t> input = shapeOf(getInput()), weight = shapeOf(getWeight());
  ArrayRef<int64_t> result = shapeOf(getResult());
  if (input.size() != 4 || result.size() != 4 || weight.size() != 5 || weight[0] != m + 2 ||
      weight[1] != m + 2 || weight[4] < 1 ||
      weight[2] != (result[1] + weight[4] - 1) / weight[4] || weight[3] != input[1])
    return emitOpError("expects input [N, C, H, W], result [N, F, H', W'] and weight [")
           << m + 2 << ", " << m + 2 << ", ceil(F / S), C, S] for a strip of S channels, got "
           << shapeToString(input) << ", " << shapeToString(result) << " and "
           << shapeToString(weight);
  if (getPads().size() != 4 || llvm::any_of(getPads(), [](int64_t p) { return p < 0; }))
    return emitOpError("pads must be 4 non-negative values");
  for (Value value : {getInput(), getWeight(), getResult()})
    if (!llvm::cast<RankedTensorType>(value.getType()).getElementType().isF32())
      return emitOpError("computes in float32 only");
  Shape expected{input[0], result[1]};
  for (int i = 0; i < 2; ++i)
    expected.push_back(windowOutputSize(input[2 + i], 3, 1, getPads()[i], getPads()[2 + i], 1));
  if (expected[2] < 1 || expected[3] < 1)
    return emitOpError("the padded input is smaller than the 3x3 window");
  if (failed(checkResultShape(*this, expected, "")))
    return failure();
  return checkBias(*this, getBias(), result[1]);
}

LogicalResult ConvTransposeOp::verify() {
  std::string error;
  auto expected = convTransposeResultShape(shapeOf(getInput()), shapeOf(getWeight()),
                                           getStrides(), getPads(), getDilations(),
                                           getGroups(), error);
  if (failed(checkResultShape(*this, expected, error)))
    return failure();
  return checkBias(*this, getBias(), shapeOf(getResult())[1]);
}

LogicalResult MatmulOp::verify() {
  std::string error;
  return checkResultShape(*this, matmulResultShape(shapeOf(getLhs()), shapeOf(getRhs()), error),
                          error);
}

namespace {
/// [..., M, K] x [K, N] (or [1, ..., K, N]) with a small M -> one [rows, K] x [K, N] product
/// between reshapes: the batch dimensions of the left operand are more rows of one product.
/// PyTorch's attention exports its input projection as [tokens, 1, width] x [width, 3 width]
/// (sequence first): 128 products of one row each ran 4.5x slower than one of 128 rows.
struct FlattenMatmulRows : OpRewritePattern<MatmulOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(MatmulOp op, PatternRewriter &rewriter) const override {
    auto lhsType = llvm::cast<RankedTensorType>(op.getLhs().getType());
    auto rhsType = llvm::cast<RankedTensorType>(op.getRhs().getType());
    auto type = op.getType();
    if (lhsType.getRank() < 3 || rhsType.getRank() < 2 || rhsType.getRank() > lhsType.getRank() ||
        !lhsType.hasStaticShape() || !rhsType.hasStaticShape() || !type.hasStaticShape() ||
        llvm::any_of(rhsType.getShape().drop_back(2), [](int64_t d) { return d != 1; }))
      return failure();
    // Only where the products are short: a reshape between a product and its elementwise
    // epilogue keeps kernel formation from fusing them, which costs more than a batch of
    // products of many rows each loses.
    int64_t rows = 1, rowsPerProduct = lhsType.getShape()[lhsType.getRank() - 2];
    for (int64_t d : lhsType.getShape().drop_back())
      rows *= d;
    if (rows == rowsPerProduct || rowsPerProduct >= 32)
      return failure();
    int64_t k = lhsType.getShape().back(), n = rhsType.getShape().back();
    Location loc = op.getLoc();
    Value lhs = ReshapeOp::create(rewriter, loc, RankedTensorType::get({rows, k}, lhsType.getElementType()),
                                  op.getLhs());
    Value rhs = op.getRhs();
    if (rhsType.getRank() > 2)
      rhs = ReshapeOp::create(rewriter, loc, RankedTensorType::get({k, n}, rhsType.getElementType()), rhs);
    Value product = MatmulOp::create(rewriter, loc,
                                     RankedTensorType::get({rows, n}, type.getElementType()), lhs, rhs);
    rewriter.replaceOpWithNewOp<ReshapeOp>(op, type, product);
    return success();
  }
};
} // namespace

void MatmulOp::getCanonicalizationPatterns(RewritePatternSet &patterns, MLIRContext *context) {
  patterns.add<FlattenMatmulRows>(context);
}

LogicalResult PoolOp::verify() {
  if (getKind() != "max" && getKind() != "avg")
    return emitOpError("kind must be \"max\" or \"avg\", got \"") << getKind() << "\"";
  ArrayRef<int64_t> input = shapeOf(getInput());
  size_t spatial = getKernel().size();
  if (input.size() != spatial + 2 || getStrides().size() != spatial ||
      getDilations().size() != spatial || getPads().size() != 2 * spatial)
    return emitOpError("window attributes do not match input rank ") << input.size();
  Shape expected{input[0], input[1]};
  for (size_t i = 0; i < spatial; ++i)
    expected.push_back(windowOutputSize(input[2 + i], getKernel()[i], getStrides()[i],
                                        getPads()[i], getPads()[spatial + i],
                                        getDilations()[i]));
  return checkResultShape(*this, expected, "");
}

LogicalResult ReduceOp::verify() {
  static const char *kinds[] = {"sum", "mean", "max", "min", "prod", "sum_square", "l1",
                                "l2", "log_sum", "log_sum_exp"};
  if (!llvm::is_contained(kinds, getKind()))
    return emitOpError("unknown reduction kind \"") << getKind() << "\"";
  ArrayRef<int64_t> input = shapeOf(getInput());
  ArrayRef<int64_t> axes = getAxes();
  for (size_t i = 0; i < axes.size(); ++i)
    if (axes[i] < 0 || axes[i] >= int64_t(input.size()) || (i && axes[i] <= axes[i - 1]))
      return emitOpError("axes must be sorted, unique and within rank ") << input.size();
  bool keepDims = shapeOf(getResult()).size() == input.size();
  Shape expected;
  for (size_t i = 0; i < input.size(); ++i) {
    bool reduced = llvm::is_contained(axes, int64_t(i));
    if (!reduced)
      expected.push_back(input[i]);
    else if (keepDims)
      expected.push_back(1);
  }
  return checkResultShape(*this, expected, "");
}

LogicalResult SoftmaxOp::verify() {
  int64_t axis = int64_t(getAxis());
  if (axis < 0 || axis >= int64_t(shapeOf(getInput()).size()))
    return emitOpError("axis ") << axis << " out of range";
  return success();
}

LogicalResult LayerNormOp::verify() {
  int64_t axis = int64_t(getAxis());
  if (axis < 0 || axis >= int64_t(shapeOf(getInput()).size()))
    return emitOpError("axis ") << axis << " out of range";
  if (!llvm::isa<FloatType>(llvm::cast<RankedTensorType>(getInput().getType()).getElementType()))
    return emitOpError("needs a float element type");
  if (!(getEpsilon().convertToDouble() >= 0))
    return emitOpError("epsilon must be non-negative");
  return success();
}

LogicalResult ResizeOp::verify() {
  if (getMode() != "nearest" && getMode() != "linear" && getMode() != "cubic")
    return emitOpError("unknown mode \"") << getMode() << "\"";
  if (shapeOf(getInput()).size() != shapeOf(getResult()).size() ||
      getScales().size() != shapeOf(getInput()).size())
    return emitOpError("rank, result rank and scales must agree");
  return success();
}

//===----------------------------------------------------------------------===//
// Data movement
//===----------------------------------------------------------------------===//

LogicalResult ReshapeOp::verify() {
  if (elementCount(shapeOf(getInput())) != elementCount(shapeOf(getResult())))
    return emitOpError("cannot reshape ") << shapeToString(shapeOf(getInput())) << " to "
                                          << shapeToString(shapeOf(getResult()));
  if (getInput().getType().getElementType() != getType().getElementType())
    return emitOpError("changes the element type");
  return success();
}

OpFoldResult ReshapeOp::fold(FoldAdaptor a) {
  if (getInput().getType() == getType())
    return getInput();
  if (auto producer = getInput().getDefiningOp<ReshapeOp>()) {
    getInputMutable().assign(producer.getInput());
    return getResult();
  }
  if (auto dense = llvm::dyn_cast_or_null<DenseElementsAttr>(a.getInput()))
    return dense.reshape(getType());
  if (auto resource = llvm::dyn_cast_or_null<DenseResourceElementsAttr>(a.getInput()))
    return DenseResourceElementsAttr::get(getType(), resource.getRawHandle());
  return {};
}

LogicalResult FromStripsOp::verify() {
  ArrayRef<int64_t> input = shapeOf(getInput()), result = shapeOf(getResult());
  int64_t width = getWidth(), axis = getAxis();
  if (axis < 0 || axis >= int64_t(result.size()))
    return emitOpError("axis ") << axis << " is not an axis of the result "
                                << shapeToString(result);
  Shape others(result.begin(), result.end());
  others.erase(others.begin() + axis);
  if (width < 1 || input.size() != result.size() + 1 || input.back() != width ||
      input[0] * width < result[axis] || (input[0] - 2) * width >= result[axis] ||
      input.drop_front().drop_back() != ArrayRef<int64_t>(others))
    return emitOpError("expects input [F / width rounded up, at most one strip of padding, "
                       "(other dims), width] for the result's axis ")
           << axis << " of F, got " << shapeToString(input) << " for " << shapeToString(result)
           << " with width " << width;
  if (mlir::getElementTypeOrSelf(getInput()) != mlir::getElementTypeOrSelf(getResult()))
    return emitOpError("keeps the element type");
  return success();
}

LogicalResult TransposeOp::verify() {
  ArrayRef<int64_t> input = shapeOf(getInput());
  ArrayRef<int64_t> perm = getPerm();
  if (perm.size() != input.size())
    return emitOpError("perm has ") << perm.size() << " entries for rank " << input.size();
  Shape expected;
  SmallVector<bool> seen(input.size(), false);
  for (int64_t p : perm) {
    if (p < 0 || p >= int64_t(input.size()) || seen[p])
      return emitOpError("perm is not a permutation");
    seen[p] = true;
    expected.push_back(input[p]);
  }
  return checkResultShape(*this, expected, "");
}

OpFoldResult TransposeOp::fold(FoldAdaptor a) {
  ArrayRef<int64_t> perm = getPerm();
  bool identity = true;
  for (size_t i = 0; i < perm.size(); ++i)
    identity &= perm[i] == int64_t(i);
  if (identity)
    return getInput();
  // transpose(transpose(x, p), q) = transpose(x, p o q): result axis i is x's axis p[q[i]].
  if (auto inner = getInput().getDefiningOp<TransposeOp>()) {
    SmallVector<int64_t> composed;
    for (int64_t axis : perm)
      composed.push_back(inner.getPerm()[axis]);
    getInputMutable().assign(inner.getInput());
    setPerm(composed);
    return getResult();
  }
  auto values = readConstant(a.getInput());
  if (!values)
    return {};
  SmallVector<int64_t> strides = stridesOf(shapeOf(getInput()));
  SmallVector<int64_t> permCopy(perm);
  return gatherConstant(*values, getType(), [&](ArrayRef<int64_t> index) {
    int64_t offset = 0;
    for (size_t i = 0; i < permCopy.size(); ++i)
      offset += index[i] * strides[permCopy[i]];
    return offset;
  });
}

LogicalResult ConcatOp::verify() {
  if (getInputs().empty())
    return emitOpError("needs at least one input");
  ArrayRef<int64_t> first = shapeOf(getInputs()[0]);
  int64_t axis = getAxis();
  if (axis < 0 || axis >= int64_t(first.size()))
    return emitOpError("axis ") << axis << " out of range";
  Shape expected(first.begin(), first.end());
  expected[axis] = 0;
  for (Value input : getInputs()) {
    ArrayRef<int64_t> shape = shapeOf(input);
    if (shape.size() != first.size())
      return emitOpError("inputs differ in rank");
    for (size_t i = 0; i < shape.size(); ++i)
      if (int64_t(i) != axis && shape[i] != first[i])
        return emitOpError("inputs differ outside the concatenation axis");
    expected[axis] += shape[axis];
  }
  return checkResultShape(*this, expected, "");
}

OpFoldResult ConcatOp::fold(FoldAdaptor a) {
  if (getInputs().size() == 1 && getInputs()[0].getType() == getType())
    return getInputs()[0];
  if (!mayFold(getType()))
    return {};
  SmallVector<ConstantValues> parts;
  for (Attribute attr : a.getInputs()) {
    auto values = readConstant(attr);
    if (!values)
      return {};
    parts.push_back(std::move(*values));
  }
  // Concatenate by walking the result in row-major order: along the axis, pick the part.
  int64_t axis = getAxis();
  ConstantValues joined;
  joined.type = getType();
  joined.isInteger = parts[0].isInteger;
  ArrayRef<int64_t> shape = getType().getShape();
  int64_t outer = 1, inner = 1;
  for (int64_t i = 0; i < axis; ++i)
    outer *= shape[i];
  for (size_t i = axis + 1; i < shape.size(); ++i)
    inner *= shape[i];
  for (int64_t o = 0; o < outer; ++o)
    for (const ConstantValues &part : parts) {
      int64_t block = part.type.getShape()[axis] * inner;
      for (int64_t i = 0; i < block; ++i) {
        joined.floats.push_back(part.floats[o * block + i]);
        if (joined.isInteger)
          joined.ints.push_back(part.ints[o * block + i]);
      }
    }
  return buildFoldedConstant(getType(), joined.floats, joined.ints);
}

LogicalResult SliceOp::verify() {
  ArrayRef<int64_t> input = shapeOf(getInput()), result = shapeOf(getResult());
  if (getStarts().size() != input.size() || getSteps().size() != input.size() ||
      result.size() != input.size())
    return emitOpError("starts, steps and result must have the input's rank");
  for (size_t i = 0; i < input.size(); ++i) {
    int64_t start = getStarts()[i], step = getSteps()[i];
    if (step == 0)
      return emitOpError("step of axis ") << i << " is zero";
    if (result[i] == 0)
      continue;
    int64_t last = start + (result[i] - 1) * step;
    if (start < 0 || start >= input[i] || last < 0 || last >= input[i])
      return emitOpError("axis ") << i << " reads outside the input";
  }
  return success();
}

OpFoldResult SliceOp::fold(FoldAdaptor a) {
  if (getInput().getType() == getType() && llvm::all_of(getStarts(), [](int64_t s) {
        return s == 0;
      }) && llvm::all_of(getSteps(), [](int64_t s) { return s == 1; }))
    return getInput();
  auto values = readConstant(a.getInput());
  if (!values)
    return {};
  SmallVector<int64_t> strides = stridesOf(shapeOf(getInput()));
  SmallVector<int64_t> starts(getStarts()), steps(getSteps());
  return gatherConstant(*values, getType(), [&](ArrayRef<int64_t> index) {
    int64_t offset = 0;
    for (size_t i = 0; i < index.size(); ++i)
      offset += (starts[i] + index[i] * steps[i]) * strides[i];
    return offset;
  });
}

LogicalResult PadOp::verify() {
  if (getMode() != "constant" && getMode() != "reflect" && getMode() != "edge" &&
      getMode() != "wrap")
    return emitOpError("unknown mode \"") << getMode() << "\"";
  ArrayRef<int64_t> input = shapeOf(getInput());
  if (getPads().size() != 2 * input.size())
    return emitOpError("expects ") << 2 * input.size() << " pads";
  Shape expected;
  for (size_t i = 0; i < input.size(); ++i)
    expected.push_back(input[i] + getPads()[i] + getPads()[input.size() + i]);
  return checkResultShape(*this, expected, "");
}

LogicalResult GatherOp::verify() {
  ArrayRef<int64_t> input = shapeOf(getInput()), indices = shapeOf(getIndices());
  int64_t axis = getAxis();
  if (axis < 0 || axis >= int64_t(input.size()))
    return emitOpError("axis ") << axis << " out of range";
  if (!isIntegerElement(getIndices().getType().getElementType()))
    return emitOpError("indices must be integers");
  Shape expected(input.begin(), input.begin() + axis);
  expected.append(indices.begin(), indices.end());
  expected.append(input.begin() + axis + 1, input.end());
  return checkResultShape(*this, expected, "");
}

OpFoldResult GatherOp::fold(FoldAdaptor a) {
  auto values = readConstant(a.getInput());
  auto indices = readConstant(a.getIndices());
  if (!values || !indices || getType().getNumElements() > 4096)
    return {};
  ArrayRef<int64_t> input = shapeOf(getInput());
  int64_t axis = getAxis(), indexRank = shapeOf(getIndices()).size();
  SmallVector<int64_t> strides = stridesOf(input), indexStrides = stridesOf(shapeOf(getIndices()));
  for (int64_t i : indices->ints)
    if (i < -input[axis] || i >= input[axis])
      return {};
  return gatherConstant(*values, getType(), [&](ArrayRef<int64_t> index) {
    int64_t offset = 0, flatIndex = 0;
    for (int64_t i = 0; i < indexRank; ++i)
      flatIndex += index[axis + i] * indexStrides[i];
    int64_t at = indices->ints[flatIndex];
    if (at < 0)
      at += input[axis];
    for (int64_t i = 0; i < axis; ++i)
      offset += index[i] * strides[i];
    offset += at * strides[axis];
    for (size_t i = axis + 1; i < input.size(); ++i)
      offset += index[i - 1 + indexRank] * strides[i];
    return offset;
  });
}

LogicalResult DequantizeOp::verify() {
  static const std::pair<const char *, int64_t> blockBytes[] = {
      {"q8_0", 34}, {"q4_0", 18}, {"q4_1", 20}, {"q5_0", 22}, {"q5_1", 24}, {"int8", 0},
      {"q8_0x16", 34}, {"q4_0x16", 18}, {"q4_1x16", 20}, {"q5_0x16", 22}, {"q5_1x16", 24}};
  int64_t bytes = -1;
  for (auto [name, size] : blockBytes)
    if (getFormat() == name)
      bytes = size;
  if (bytes < 0)
    return emitOpError("unknown format \"") << getFormat() << "\"";
  ArrayRef<int64_t> shape = getType().getShape();
  int64_t axis = getRowAxis();
  if (axis < 0 || axis >= int64_t(shape.size()))
    return emitOpError("row_axis out of range");
  int64_t rows = shape[axis], length = elementCount(shape) / std::max<int64_t>(rows, 1);
  bool isInt8 = getFormat() == "int8";
  int64_t rowLength = getRowLength();
  if (isInt8 ? rowLength != length : (rowLength < length || rowLength % 32 != 0 || rowLength - length >= 32))
    return emitOpError("row_length ") << rowLength << " does not fit rows of " << length;
  int64_t rowBytes = isInt8 ? rowLength : rowLength / 32 * bytes;
  // The interleaved layouts store groups of 16 rows, block by block
  // (kiln-interleave-quantized-weights): [rows/16, blocks, 16 * block bytes].
  if (getFormat().ends_with("x16")) {
    if (rows % 16 != 0)
      return emitOpError("format ") << getFormat() << " needs a multiple of 16 rows, got "
                                     << rows;
    SmallVector<int64_t> expected{rows / 16, rowLength / 32, 16 * bytes};
    if (shapeOf(getPacked()) != ArrayRef<int64_t>(expected))
      return emitOpError("packed weights must have shape [") << expected[0] << ","
                                                            << expected[1] << "," << expected[2]
                                                            << "]";
    if (getScales())
      return emitOpError("block formats carry their own scales");
    if (!getType().getElementType().isF32())
      return emitOpError("dequantizes to float32 only");
    return success();
  }
  if (shapeOf(getPacked()) != ArrayRef<int64_t>{rows, rowBytes})
    return emitOpError("packed weights must have shape [") << rows << "," << rowBytes << "]";
  if (isInt8 != bool(getScales()))
    return emitOpError("int8 needs per-row scales; block formats carry their own");
  if (getScales() && shapeOf(getScales()) != ArrayRef<int64_t>{rows})
    return emitOpError("scales must have shape [") << rows << "]";
  if (!getType().getElementType().isF32())
    return emitOpError("dequantizes to float32 only");
  return success();
}

LogicalResult ExpandOp::verify() {
  auto expected = broadcastShapes(shapeOf(getInput()), shapeOf(getResult()));
  if (!expected || ArrayRef<int64_t>(*expected) != shapeOf(getResult()))
    return emitOpError("cannot broadcast ") << shapeToString(shapeOf(getInput())) << " to "
                                            << shapeToString(shapeOf(getResult()));
  return success();
}

//===----------------------------------------------------------------------===//
// KernelOp
//===----------------------------------------------------------------------===//

void KernelOp::build(OpBuilder &builder, OperationState &state, StringRef name,
                     TypeRange resultTypes, ValueRange inputs) {
  state.addAttribute(getSymNameAttrName(state.name), builder.getStringAttr(name));
  state.addOperands(inputs);
  state.addTypes(resultTypes);
  Region *body = state.addRegion();
  Block *block = new Block();
  body->push_back(block);
  for (Value input : inputs)
    block->addArgument(input.getType(), input.getLoc());
}

LogicalResult KernelOp::verify() {
  Block &block = getBody().front();
  if (block.getNumArguments() != getInputs().size())
    return emitOpError("has ") << block.getNumArguments() << " block arguments for "
                               << getInputs().size() << " inputs";
  for (auto [arg, input] : llvm::zip(block.getArguments(), getInputs()))
    if (arg.getType() != input.getType())
      return emitOpError("block argument type ") << arg.getType() << " differs from input "
                                                 << input.getType();
  auto yield = llvm::cast<YieldOp>(block.getTerminator());
  if (yield.getValues().getTypes() != getResultTypes())
    return emitOpError("yields types that differ from its results");
  return success();
}

LogicalResult IfOp::verify() {
  auto condition = llvm::cast<RankedTensorType>(getCondition().getType());
  if (!condition.getElementType().isInteger(1) || !condition.hasStaticShape() ||
      condition.getNumElements() != 1)
    return emitOpError("condition must be one bool, not ") << condition;
  for (Region *region : {&getThenRegion(), &getElseRegion()}) {
    auto yield = llvm::dyn_cast<YieldOp>(region->front().getTerminator());
    if (!yield)
      return emitOpError("branch does not end in kiln.yield");
    if (yield.getValues().getTypes() != getResultTypes())
      return emitOpError(region == &getThenRegion() ? "then" : "else")
             << " branch yields types that differ from the results";
  }
  return success();
}

LogicalResult WithExtentOp::verify() {
  auto type = llvm::cast<RankedTensorType>(getInput().getType());
  auto extent = llvm::cast<RankedTensorType>(getExtent().getType());
  if (getResult().getType() != type)
    return emitOpError("result type differs from the input's");
  if (int64_t(getAxis()) < 0 || int64_t(getAxis()) >= type.getRank())
    return emitOpError("axis ") << int64_t(getAxis()) << " out of range";
  if (!extent.getElementType().isInteger(64) || extent.getNumElements() != 1)
    return emitOpError("extent must be one int64");
  return success();
}

LogicalResult LoopOp::verify() {
  auto isOne = [](Value value, bool (*element)(Type)) {
    auto type = llvm::cast<RankedTensorType>(value.getType());
    return element(type.getElementType()) && type.hasStaticShape() && type.getNumElements() == 1;
  };
  auto isI64 = [](Type type) { return type.isInteger(64); };
  auto isBool = [](Type type) { return type.isInteger(1); };
  if (!isOne(getMaxTripCount(), isI64))
    return emitOpError("max_trip_count must be one int64");
  if (!isOne(getCondition(), isBool))
    return emitOpError("condition must be one bool");
  if (getInits().getTypes() != getResultTypes())
    return emitOpError("carried values' initial types differ from the results");
  Block &body = getBody().front();
  if (body.getNumArguments() != getInits().size() + 2 || !isOne(body.getArgument(0), isI64) ||
      !isOne(body.getArgument(1), isBool) ||
      TypeRange(ValueRange(body.getArguments().drop_front(2))) != TypeRange(getResultTypes()))
    return emitOpError("body arguments must be (iteration int64, condition bool, carried values)");
  auto yield = llvm::dyn_cast<YieldOp>(body.getTerminator());
  if (!yield || yield.getValues().size() != getInits().size() + 1 ||
      !isOne(yield.getValues()[0], isBool) ||
      yield.getValues().drop_front().getTypes() != getResultTypes())
    return emitOpError("body must yield the condition (bool) and the carried values");
  return success();
}

LogicalResult IfOp::canonicalize(IfOp op, PatternRewriter &rewriter) {
  auto constant = op.getCondition().getDefiningOp<ConstantOp>();
  auto value = constant ? llvm::dyn_cast<DenseElementsAttr>(constant.getValue()) : nullptr;
  if (!value)
    return failure();
  Block &taken = *value.getValues<bool>().begin() ? op.thenBlock() : op.elseBlock();
  auto yield = llvm::cast<YieldOp>(taken.getTerminator());
  SmallVector<Value> results(yield.getValues());
  rewriter.eraseOp(yield);
  rewriter.inlineBlockBefore(&taken, op);
  rewriter.replaceOp(op, results);
  return success();
}

#define GET_OP_CLASSES
#include "dialects/kiln/IR/KilnOps.cpp.inc"
