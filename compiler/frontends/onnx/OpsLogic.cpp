//===- OpsLogic.cpp - ONNX comparison, logic and activation ops -> kiln ----===//
//
// Comparisons, boolean logic, Where, Mod, BitShift, the trigonometric family, IsNaN/IsInf,
// and the activations ONNX defines as functions (Elu, Selu, Celu, Softplus, Softsign,
// ThresholdedRelu, Shrink, PRelu), which decompose into compare/select/arithmetic that
// kernel formation fuses back into one kernel.
//
//===----------------------------------------------------------------------===//
#include "compiler/frontends/onnx/NodeImporter.h"

using namespace mlir;

namespace kiln {
namespace {

template <typename OpTy> LogicalResult importMath(NodeImporter &n) {
  n.setOutput(0, n.unary<OpTy>(n.input(0)));
  return success();
}

LogicalResult importCompare(NodeImporter &n, StringRef predicate) {
  return n.setOutput(0, n.compare(predicate, n.input(0), n.input(1)));
}

template <typename OpTy> LogicalResult importLogic(NodeImporter &n) {
  return n.setOutput(0, n.binary<OpTy>(n.input(0), n.input(1)));
}

LogicalResult importWhere(NodeImporter &n) {
  return n.setOutput(0, n.select(n.input(0), n.input(1), n.input(2)));
}

LogicalResult importMod(NodeImporter &n) {
  Type type = n.typeOf(n.input(0)).getElementType();
  bool fmod = n.intAttr("fmod", 0);
  if (!fmod && llvm::isa<FloatType>(type))
    return n.fail("fmod=0 is only defined for integers");
  return n.setOutput(0, fmod ? n.binary<FmodOp>(n.input(0), n.input(1))
                             : n.binary<ModOp>(n.input(0), n.input(1)));
}

LogicalResult importBitShift(NodeImporter &n) {
  std::string direction = n.stringAttr("direction", "");
  if (direction != "LEFT" && direction != "RIGHT")
    return n.fail("direction must be LEFT or RIGHT");
  return n.setOutput(0, direction == "LEFT" ? n.binary<ShiftLeftOp>(n.input(0), n.input(1))
                                    : n.binary<ShiftRightOp>(n.input(0), n.input(1)));
}

LogicalResult importIsNaN(NodeImporter &n) {
  Value x = n.input(0);
  n.setOutput(0, n.create<ClassifyOp>(n.tensorType(n.shapeOf(x), n.builder.getI1Type()), x,
                                      n.builder.getStringAttr("nan")));
  return success();
}

LogicalResult importIsInf(NodeImporter &n) {
  Value x = n.input(0);
  bool positive = n.intAttr("detect_positive", 1), negative = n.intAttr("detect_negative", 1);
  std::string kind = positive && negative ? "inf" : positive ? "pos_inf" : "neg_inf";
  if (!positive && !negative) {
    auto shape = n.shapeOf(x);
    n.setOutput(0, n.constant(shape, n.builder.getI1Type(),
                              std::vector<double>(elementCount(shape), 0.0)));
    return success();
  }
  n.setOutput(0, n.create<ClassifyOp>(n.tensorType(n.shapeOf(x), n.builder.getI1Type()), x,
                                      n.builder.getStringAttr(kind)));
  return success();
}

/// Activations defined piecewise around zero: select(x < 0 (or <=), negative(x), positive(x)).
LogicalResult importElu(NodeImporter &n) {
  Value x = n.input(0);
  Type t = n.typeOf(x).getElementType();
  double alpha = n.floatAttr("alpha", 1.0);
  Value negative = n.must(n.binary<MulOp>(
      n.must(n.binary<SubOp>(n.unary<ExpOp>(x), n.scalar(1.0, t))), n.scalar(alpha, t)));
  return n.setOutput(0, n.select(n.must(n.compare("lt", x, n.scalar(0.0, t))), negative, x));
}

LogicalResult importSelu(NodeImporter &n) {
  Value x = n.input(0);
  Type t = n.typeOf(x).getElementType();
  double alpha = n.floatAttr("alpha", 1.67326319217681884765625);
  double gamma = n.floatAttr("gamma", 1.05070102214813232421875);
  Value negative = n.must(n.binary<SubOp>(n.must(n.binary<MulOp>(n.unary<ExpOp>(x), n.scalar(alpha, t))),
                                    n.scalar(alpha, t)));
  Value picked = n.must(n.select(n.must(n.compare("le", x, n.scalar(0.0, t))), negative, x));
  n.setOutput(0, n.must(n.binary<MulOp>(picked, n.scalar(gamma, t))));
  return success();
}

LogicalResult importCelu(NodeImporter &n) {
  // max(0, x) + min(0, alpha * (exp(x / alpha) - 1))
  Value x = n.input(0);
  Type t = n.typeOf(x).getElementType();
  double alpha = n.floatAttr("alpha", 1.0);
  Value scaled = n.must(n.binary<DivOp>(x, n.scalar(alpha, t)));
  Value negative = n.must(n.binary<MulOp>(n.must(n.binary<SubOp>(n.unary<ExpOp>(scaled), n.scalar(1.0, t))),
                                    n.scalar(alpha, t)));
  Value zero = n.scalar(0.0, t);
  n.setOutput(0, n.must(n.binary<AddOp>(n.must(n.binary<MaxOp>(x, zero)), n.must(n.binary<MinOp>(negative, zero)))));
  return success();
}

LogicalResult importSoftplus(NodeImporter &n) {
  Value x = n.input(0);
  Type t = n.typeOf(x).getElementType();
  n.setOutput(0, n.unary<LogOp>(n.must(n.binary<AddOp>(n.unary<ExpOp>(x), n.scalar(1.0, t)))));
  return success();
}

LogicalResult importSoftsign(NodeImporter &n) {
  Value x = n.input(0);
  Type t = n.typeOf(x).getElementType();
  n.setOutput(0, n.must(n.binary<DivOp>(x, n.must(n.binary<AddOp>(n.unary<AbsOp>(x), n.scalar(1.0, t))))));
  return success();
}

LogicalResult importThresholdedRelu(NodeImporter &n) {
  Value x = n.input(0);
  Type t = n.typeOf(x).getElementType();
  Value above = n.must(n.compare("gt", x, n.scalar(n.floatAttr("alpha", 1.0), t)));
  n.setOutput(0, n.must(n.select(above, x, n.scalar(0.0, t))));
  return success();
}

LogicalResult importShrink(NodeImporter &n) {
  Value x = n.input(0);
  Type t = n.typeOf(x).getElementType();
  double bias = n.floatAttr("bias", 0.0), lambd = n.floatAttr("lambd", 0.5);
  Value below = n.must(n.compare("lt", x, n.scalar(-lambd, t)));
  Value above = n.must(n.compare("gt", x, n.scalar(lambd, t)));
  Value inner = n.must(n.select(above, n.must(n.binary<SubOp>(x, n.scalar(bias, t))), n.scalar(0.0, t)));
  n.setOutput(0, n.must(n.select(below, n.must(n.binary<AddOp>(x, n.scalar(bias, t))), inner)));
  return success();
}

LogicalResult importPRelu(NodeImporter &n) {
  Value x = n.input(0), slope = n.input(1);
  Type t = n.typeOf(x).getElementType();
  ArrayRef<int64_t> xs = n.shapeOf(x), ss = n.shapeOf(slope);
  // A per-channel slope [C] (as PyTorch exports it) applies along axis 1.
  if (ss.size() == 1 && xs.size() > 2 && ss[0] == xs[1] && ss[0] != xs.back()) {
    Shape channel{ss[0]};
    channel.append(xs.size() - 2, 1);
    slope = n.reshape(slope, channel);
  }
  auto scaled = n.binary<MulOp>(x, slope);
  if (failed(scaled))
    return failure();
  auto out = n.select(n.must(n.compare("lt", x, n.scalar(0.0, t))), *scaled, x);
  if (failed(out))
    return failure();
  // select broadcasts to the larger of x and slope; PRelu's result has x's shape.
  n.setOutput(0, *out);
  return success();
}

LogicalResult importCastLike(NodeImporter &n) {
  Value x = n.input(0);
  Type to = n.typeOf(n.input(1)).getElementType();
  n.setOutput(0, n.create<CastOp>(n.tensorType(n.shapeOf(x), to), x));
  return success();
}

} // namespace

void registerLogicOps(OpTable &t) {
  t["Sin"] = importMath<SinOp>;
  t["Cos"] = importMath<CosOp>;
  t["Tan"] = importMath<TanOp>;
  t["Asin"] = importMath<AsinOp>;
  t["Acos"] = importMath<AcosOp>;
  t["Atan"] = importMath<AtanOp>;
  t["Sinh"] = importMath<SinhOp>;
  t["Cosh"] = importMath<CoshOp>;
  t["Asinh"] = importMath<AsinhOp>;
  t["Acosh"] = importMath<AcoshOp>;
  t["Atanh"] = importMath<AtanhOp>;
  t["Sign"] = importMath<SignOp>;
  t["Round"] = importMath<RoundOp>;
  t["Not"] = importMath<NotOp>;
  t["IsNaN"] = importIsNaN;
  t["IsInf"] = importIsInf;
  t["Equal"] = [](NodeImporter &n) { return importCompare(n, "eq"); };
  t["Less"] = [](NodeImporter &n) { return importCompare(n, "lt"); };
  t["LessOrEqual"] = [](NodeImporter &n) { return importCompare(n, "le"); };
  t["Greater"] = [](NodeImporter &n) { return importCompare(n, "gt"); };
  t["GreaterOrEqual"] = [](NodeImporter &n) { return importCompare(n, "ge"); };
  t["And"] = importLogic<AndOp>;
  t["Or"] = importLogic<OrOp>;
  t["Xor"] = importLogic<XorOp>;
  t["Where"] = importWhere;
  t["Mod"] = importMod;
  t["BitShift"] = importBitShift;
  t["Elu"] = importElu;
  t["Selu"] = importSelu;
  t["Celu"] = importCelu;
  t["Softplus"] = importSoftplus;
  t["Softsign"] = importSoftsign;
  t["ThresholdedRelu"] = importThresholdedRelu;
  t["Shrink"] = importShrink;
  t["PRelu"] = importPRelu;
  t["CastLike"] = importCastLike;
}

} // namespace kiln
