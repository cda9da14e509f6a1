//===- OpsComposite.cpp - ONNX ops kiln builds from smaller ones -----------===//
//
// Losses (NegativeLogLikelihoodLoss, SoftmaxCrossEntropyLoss), window generators
// (Hann, Hamming, Blackman: constants once the size is known) and the quantization ops
// (QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear, MatMulInteger, ConvInteger,
// QLinearMatMul, QLinearConv). Integer products accumulate in int32, as the spec requires;
// scales apply in float32 with round-half-to-even, then saturate.
//
//===----------------------------------------------------------------------===//
#include "compiler/frontends/onnx/NodeImporter.h"

#include <cmath>

using namespace mlir;

namespace kiln {
namespace {

/// Sum over every axis -> rank 0.
Value sumAll(NodeImporter &n, Value x) {
  int64_t rank = n.shapeOf(x).size();
  if (rank == 0)
    return x;
  SmallVector<int64_t> axes;
  for (int64_t i = 0; i < rank; ++i)
    axes.push_back(i);
  return n.create<ReduceOp>(n.tensorType({}, n.typeOf(x).getElementType()), x,
                            n.builder.getStringAttr("sum"), n.builder.getDenseI64ArrayAttr(axes));
}

/// loss[n, d...] = -input[n, target[n, d...], d...] * weight[target]; see the ONNX spec.
FailureOr<Value> nllLoss(NodeImporter &n, Value input, Value target, Value weight) {
  ArrayRef<int64_t> inShape = n.shapeOf(input), tShape = n.shapeOf(target);
  bool fits = inShape.size() >= 2 && tShape.size() == inShape.size() - 1 &&
              tShape[0] == inShape[0];
  for (size_t i = 1; fits && i < tShape.size(); ++i)
    fits = tShape[i] == inShape[i + 1];
  if (!fits)
    return n.fail("input " + shapeToString(inShape) + " and target " + shapeToString(tShape) +
           " do not fit [N, C, d...] and [N, d...]");
  if (!isIntegerElement(n.typeOf(target).getElementType()))
    return n.fail("target must be integers");
  if (weight && (n.shapeOf(weight).size() != 1 || n.shapeOf(weight)[0] != inShape[1] ||
                 n.typeOf(weight).getElementType() != n.typeOf(input).getElementType()))
    return n.fail("weight must have shape [" + std::to_string(inShape[1]) +
                  "] and the input's element type");
  Type t = n.typeOf(input).getElementType();
  Type indexType = n.typeOf(target).getElementType();
  bool hasIgnore = n.hasAttr("ignore_index");
  int64_t ignore = n.intAttr("ignore_index", 0);
  Value safe = target, valid;
  if (hasIgnore) {
    // valid = !(target == ignore_index)
    valid = n.must(n.compare("eq", target, n.constant({}, indexType, {double(ignore)}, {ignore})));
    valid = n.create<NotOp>(valid.getType(), valid);
    safe = n.must(n.select(valid, target, n.constant({}, indexType, {0.0}, {0})));
  }
  Shape column(tShape);
  column.insert(column.begin() + 1, 1);
  Value picked = n.create<GatherElementsOp>(n.tensorType(column, t), input,
                                            n.reshape(safe, column),
                                            n.builder.getI64IntegerAttr(1));
  picked = n.reshape(picked, tShape);
  Value w;
  if (weight)
    w = n.create<GatherOp>(n.tensorType(tShape, t), weight, safe, n.builder.getI64IntegerAttr(0));
  if (hasIgnore) {
    Value one = n.scalar(1.0, t), zero = n.scalar(0.0, t);
    Value mask = n.must(n.select(valid, one, zero));
    w = w ? n.must(n.binary<MulOp>(w, mask)) : mask;
  }
  Value loss = n.unary<NegOp>(picked);
  if (w)
    loss = n.must(n.binary<MulOp>(loss, w));
  std::string reduction = n.stringAttr("reduction", "mean");
  if (reduction == "none")
    return loss;
  Value total = sumAll(n, loss);
  if (reduction == "sum")
    return total;
  if (reduction != "mean") {
    return n.fail("unknown reduction '" + reduction + "'");
  }
  Value count = w ? sumAll(n, w) : n.scalar(double(elementCount(tShape)), t);
  return n.must(n.binary<DivOp>(total, count));
}

LogicalResult importNllLoss(NodeImporter &n) {
  return n.setOutput(0, nllLoss(n, n.input(0), n.input(1), n.input(2)));
}

LogicalResult importSoftmaxCrossEntropy(NodeImporter &n) {
  Value scores = n.input(0);
  if (n.shapeOf(scores).size() < 2)
    return n.fail("scores must have rank >= 2");
  Value probabilities = n.create<SoftmaxOp>(scores.getType(), scores, n.builder.getI64IntegerAttr(1));
  Value logProb = n.unary<LogOp>(probabilities);
  auto loss = nllLoss(n, logProb, n.input(1), n.input(2));
  if (failed(loss))
    return failure();
  n.setOutput(0, *loss);
  n.setOutput(1, logProb);
  return success();
}

/// The longest window generated at compile time (a window is a constant).
constexpr int64_t kMaxWindowLength = 1 << 24;

/// Hann, Hamming and Blackman windows: a0 - a1 cos(2 pi k / N) + a2 cos(4 pi k / N).
LogicalResult importWindow(NodeImporter &n, double a0, double a1, double a2) {
  auto size = n.constantInput(0);
  if (!size)
    return n.notConstant(0, "size");
  if (size->floats.size() != 1 || !std::isfinite(size->floats[0]) || size->floats[0] < 0 ||
      size->floats[0] > double(kMaxWindowLength))
    return n.fail("size must be one value in [0, " + std::to_string(kMaxWindowLength) + "]");
  int64_t length = int64_t(size->floats[0]);
  Type t = onnxElementType(n.builder.getContext(), n.intAttr("output_datatype", 1));
  if (!t)
    return n.fail("unsupported output_datatype");
  double denominator = n.intAttr("periodic", 1) ? double(length) : double(length - 1);
  std::vector<double> values(length);
  for (int64_t k = 0; k < length; ++k) {
    double x = 2 * M_PI * double(k) / denominator;
    values[k] = float(a0 - a1 * std::cos(x) + a2 * std::cos(2 * x));
  }
  n.setOutput(0, n.constant({length}, t, values));
  return success();
}

/// A per-axis quantization parameter [C] reshaped to broadcast along `axis` of `rank`.
Value alongAxis(NodeImporter &n, Value v, int64_t axis, int64_t rank) {
  if (n.shapeOf(v).size() != 1 || rank == 0)
    return v;
  Shape shape(rank, 1);
  shape[axis] = n.shapeOf(v)[0];
  return n.reshape(v, shape);
}

/// saturate(round_half_even(x) + zero_point) in the zero point's type.
Value quantize(NodeImporter &n, Value x, Value zeroPoint, Type to) {
  Type f = n.typeOf(x).getElementType();
  Value y = n.unary<RoundOp>(x);
  if (zeroPoint)
    y = n.must(n.binary<AddOp>(y, n.create<CastOp>(n.tensorType(n.shapeOf(zeroPoint), f), zeroPoint)));
  auto intType = llvm::dyn_cast<IntegerType>(to);
  if (!intType)
    n.must(FailureOr<Value>(n.fail("the zero point must have an integer type")));
  double lo = intType.isUnsigned() ? 0 : -std::ldexp(1.0, intType.getWidth() - 1);
  double hi = intType.isUnsigned() ? std::ldexp(1.0, intType.getWidth()) - 1
                                   : std::ldexp(1.0, intType.getWidth() - 1) - 1;
  y = n.create<ClipOp>(y.getType(), y, n.builder.getF64FloatAttr(lo), n.builder.getF64FloatAttr(hi));
  return n.create<CastOp>(n.tensorType(n.shapeOf(y), to), y);
}

/// The quantization axis of QuantizeLinear/DequantizeLinear; it matters only for per-axis
/// (1-D) scales.
FailureOr<int64_t> quantizationAxis(NodeImporter &n, Value scale, int64_t rank) {
  if (n.shapeOf(scale).size() == 1 && rank > 0)
    return n.axis(n.intAttr("axis", 1), rank);
  return int64_t(0);
}

LogicalResult importQuantizeLinear(NodeImporter &n) {
  Value x = n.input(0), scale = n.input(1), zeroPoint = n.input(2);
  int64_t rank = n.shapeOf(x).size();
  auto axis = quantizationAxis(n, scale, rank);
  if (failed(axis))
    return failure();
  Type to = zeroPoint ? n.typeOf(zeroPoint).getElementType()
                      : n.builder.getIntegerType(8, /*isSigned=*/false);
  Value scaled = n.must(n.binary<DivOp>(x, alongAxis(n, scale, *axis, rank)));
  n.setOutput(0, quantize(n, scaled, zeroPoint ? alongAxis(n, zeroPoint, *axis, rank) : Value(), to));
  return success();
}

/// DequantizeLinear of a constant int8 tensor with constant scales and zero points of 0,
/// the way quantizers export weights, as kiln.dequantize "int8": the weight stays one byte
/// per value in the weights file and each kernel that reads it decodes it there, instead
/// of a float copy folded into the file or computed into the arena. Rows run along the
/// quantization axis (axis 0 for one scale); a row is the other axes, row-major.
/// std::nullopt when the operands do not have that form.
std::optional<Value> dequantizeInt8Weight(NodeImporter &n, int64_t axis) {
  Value x = n.input(0), scale = n.input(1);
  auto xType = n.typeOf(x);
  if (xType.getRank() < 1 || !xType.getElementType().isInteger(8) ||
      xType.getElementType().isUnsignedInteger() || !n.typeOf(scale).getElementType().isF32() ||
      xType.getNumElements() > kMaxFoldedElements)
    return std::nullopt;
  auto values = n.constantInput(0);
  auto scales = n.constantInput(1);
  if (!values || !scales || !values->isInteger)
    return std::nullopt;
  if (n.input(2)) {
    auto zeros = n.constantInput(2);
    if (!zeros || llvm::any_of(zeros->floats, [](double z) { return z != 0.0; }))
      return std::nullopt;
  }
  ArrayRef<int64_t> shape = xType.getShape();
  int64_t rows = shape[axis], count = xType.getNumElements();
  if (rows == 0 || count == 0 || (scales->floats.size() != 1 && int64_t(scales->floats.size()) != rows))
    return std::nullopt;
  int64_t length = count / rows, inner = 1;
  for (int64_t d = axis + 1; d < int64_t(shape.size()); ++d)
    inner *= shape[d];
  // Element (outer, row, in) of the [outer, rows, inner] view goes to row `row`, place
  // outer * inner + in.
  std::vector<int64_t> packed(count);
  for (int64_t i = 0; i < count; ++i) {
    int64_t in = i % inner, row = i / inner % rows, outer = i / inner / rows;
    packed[row * length + outer * inner + in] = values->ints[i];
  }
  std::vector<double> rowScales(rows);
  for (int64_t r = 0; r < rows; ++r)
    rowScales[r] = scales->floats[scales->floats.size() == 1 ? 0 : r];
  Value packedValue = n.constant({rows, length}, n.builder.getIntegerType(8), {}, packed);
  Value scaleValue = n.constant({rows}, n.builder.getF32Type(), rowScales);
  return Value(n.create<DequantizeOp>(n.tensorType(shape, n.builder.getF32Type()), packedValue,
                                      scaleValue, n.builder.getStringAttr("int8"),
                                      n.builder.getI64IntegerAttr(axis),
                                      n.builder.getI64IntegerAttr(length)));
}

LogicalResult importDequantizeLinear(NodeImporter &n) {
  Value x = n.input(0), scale = n.input(1), zeroPoint = n.input(2);
  int64_t rank = n.shapeOf(x).size();
  auto axis = quantizationAxis(n, scale, rank);
  if (failed(axis))
    return failure();
  if (std::optional<Value> weight = dequantizeInt8Weight(n, rank > 0 ? *axis : 0)) {
    n.setOutput(0, *weight);
    return success();
  }
  Type f = n.typeOf(scale).getElementType();
  Value y = n.create<CastOp>(n.tensorType(n.shapeOf(x), f), x);
  if (zeroPoint) {
    Value zp = alongAxis(n, zeroPoint, *axis, rank);
    y = n.must(n.binary<SubOp>(y, n.create<CastOp>(n.tensorType(n.shapeOf(zp), f), zp)));
  }
  n.setOutput(0, n.must(n.binary<MulOp>(y, alongAxis(n, scale, *axis, rank))));
  return success();
}

LogicalResult importDynamicQuantizeLinear(NodeImporter &n) {
  Value x = n.input(0);
  Type f = n.typeOf(x).getElementType();
  int64_t rank = n.shapeOf(x).size();
  SmallVector<int64_t> axes;
  for (int64_t i = 0; i < rank; ++i)
    axes.push_back(i);
  auto reduceAll = [&](const char *kind) {
    return n.create<ReduceOp>(n.tensorType({}, f), x, n.builder.getStringAttr(kind),
                              n.builder.getDenseI64ArrayAttr(axes));
  };
  Value zero = n.scalar(0.0, f);
  Value lo = n.must(n.binary<MinOp>(reduceAll("min"), zero));
  Value hi = n.must(n.binary<MaxOp>(reduceAll("max"), zero));
  Value scale = n.must(n.binary<DivOp>(n.must(n.binary<SubOp>(hi, lo)), n.scalar(255.0, f)));
  Type u8 = n.builder.getIntegerType(8, false);
  Value zeroPoint = quantize(n, n.must(n.binary<SubOp>(zero, n.must(n.binary<DivOp>(lo, scale)))), Value(), u8);
  Value y = quantize(n, n.must(n.binary<DivOp>(x, scale)), zeroPoint, u8);
  n.setOutput(0, y);
  n.setOutput(1, scale);
  n.setOutput(2, zeroPoint);
  return success();
}

/// int32(x) - int32(zero_point), the zero point broadcast along `axis` when per-axis.
Value centered(NodeImporter &n, Value x, Value zeroPoint, int64_t axis) {
  Type i32 = n.builder.getI32Type();
  Value y = n.create<CastOp>(n.tensorType(n.shapeOf(x), i32), x);
  if (!zeroPoint)
    return y;
  Value zp = alongAxis(n, zeroPoint, axis, n.shapeOf(x).size());
  return n.must(n.binary<SubOp>(y, n.create<CastOp>(n.tensorType(n.shapeOf(zp), i32), zp)));
}

FailureOr<Value> integerMatmul(NodeImporter &n, Value a, Value aZero, Value b, Value bZero) {
  int64_t bRank = n.shapeOf(b).size();
  Value lhs = centered(n, a, aZero, std::max<int64_t>(int64_t(n.shapeOf(a).size()) - 2, 0));
  Value rhs = centered(n, b, bZero, bRank - 1);
  std::string error;
  auto shape = matmulResultShape(n.shapeOf(lhs), n.shapeOf(rhs), error);
  if (!shape) {
    return n.fail(error);
  }
  return n.create<MatmulOp>(n.tensorType(*shape, n.builder.getI32Type()), lhs, rhs);
}

FailureOr<Value> integerConv(NodeImporter &n, Value x, Value xZero, Value w, Value wZero) {
  if (n.shapeOf(x).size() < 3 || n.shapeOf(w).size() != n.shapeOf(x).size())
    return n.fail("input " + shapeToString(n.shapeOf(x)) + " and weight " +
                  shapeToString(n.shapeOf(w)) + " must have the same rank >= 3");
  Value input = centered(n, x, xZero, 1);
  Value weight = centered(n, w, wZero, 0);
  ArrayRef<int64_t> xs = n.shapeOf(input), ws = n.shapeOf(weight);
  size_t spatial = xs.size() - 2;
  std::vector<int64_t> strides = n.intsAttr("strides", std::vector<int64_t>(spatial, 1));
  std::vector<int64_t> dilations = n.intsAttr("dilations", std::vector<int64_t>(spatial, 1));
  std::vector<int64_t> pads = n.intsAttr("pads", std::vector<int64_t>(2 * spatial, 0));
  std::string autoPad = n.stringAttr("auto_pad", "NOTSET");
  if (strides.size() != spatial || dilations.size() != spatial || pads.size() != 2 * spatial)
    return n.fail("strides, dilations or pads do not match " + std::to_string(spatial) +
                  " spatial axes");
  if (failed(n.checkWindow(ArrayRef<int64_t>(ws).drop_front(2), strides, dilations, pads)))
    return failure();
  if (autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER")
    for (size_t i = 0; i < spatial; ++i) {
      int64_t out = (xs[2 + i] + strides[i] - 1) / strides[i];
      int64_t total = std::max<int64_t>((out - 1) * strides[i] + (ws[2 + i] - 1) * dilations[i] + 1 - xs[2 + i], 0);
      pads[i] = autoPad == "SAME_UPPER" ? total / 2 : total - total / 2;
      pads[spatial + i] = total - pads[i];
    }
  int64_t groups = n.intAttr("group", 1);
  std::string error;
  auto shape = convResultShape(xs, ws, strides, pads, dilations, groups, error);
  if (!shape) {
    return n.fail(error);
  }
  auto &b = n.builder;
  return n.create<ConvOp>(n.tensorType(*shape, b.getI32Type()), input, weight, Value(),
                          b.getDenseI64ArrayAttr(strides), b.getDenseI64ArrayAttr(pads),
                          b.getDenseI64ArrayAttr(dilations), b.getI64IntegerAttr(groups));
}

LogicalResult importMatMulInteger(NodeImporter &n) {
  return n.setOutput(0, integerMatmul(n, n.input(0), n.input(2), n.input(1), n.input(3)));
}

LogicalResult importConvInteger(NodeImporter &n) {
  return n.setOutput(0, integerConv(n, n.input(0), n.input(2), n.input(1), n.input(3)));
}

/// y = saturate(round(acc * a_scale * b_scale / y_scale) + y_zero_point).
Value requantize(NodeImporter &n, Value acc, Value aScale, Value bScale, Value yScale,
                 Value yZero, int64_t channelAxis) {
  Type f = n.typeOf(aScale).getElementType();
  int64_t rank = n.shapeOf(acc).size();
  Value real = n.create<CastOp>(n.tensorType(n.shapeOf(acc), f), acc);
  Value multiplier = n.must(n.binary<DivOp>(n.must(n.binary<MulOp>(aScale, alongAxis(n, bScale, channelAxis, rank))), yScale));
  real = n.must(n.binary<MulOp>(real, multiplier));
  return quantize(n, real, yZero, n.typeOf(yZero).getElementType());
}

LogicalResult importQLinearMatMul(NodeImporter &n) {
  auto acc = integerMatmul(n, n.input(0), n.input(2), n.input(3), n.input(5));
  if (failed(acc))
    return failure();
  int64_t rank = n.shapeOf(*acc).size();
  n.setOutput(0, requantize(n, *acc, n.input(1), n.input(4), n.input(6), n.input(7), rank - 1));
  return success();
}

LogicalResult importQLinearConv(NodeImporter &n) {
  auto acc = integerConv(n, n.input(0), n.input(2), n.input(3), n.input(5));
  if (failed(acc))
    return failure();
  Value sum = *acc;
  if (Value bias = n.input(8))
    sum = n.must(n.binary<AddOp>(sum, alongAxis(n, bias, 1, n.shapeOf(sum).size())));
  n.setOutput(0, requantize(n, sum, n.input(1), n.input(4), n.input(6), n.input(7), 1));
  return success();
}

} // namespace

void registerCompositeOps(OpTable &t) {
  t["NegativeLogLikelihoodLoss"] = importNllLoss;
  t["SoftmaxCrossEntropyLoss"] = importSoftmaxCrossEntropy;
  t["HannWindow"] = [](NodeImporter &n) { return importWindow(n, 0.5, 0.5, 0.0); };
  t["HammingWindow"] = [](NodeImporter &n) {
    return importWindow(n, 25.0 / 46.0, 21.0 / 46.0, 0.0);
  };
  t["BlackmanWindow"] = [](NodeImporter &n) { return importWindow(n, 0.42, 0.5, 0.08); };
  t["QuantizeLinear"] = importQuantizeLinear;
  t["DequantizeLinear"] = importDequantizeLinear;
  t["DynamicQuantizeLinear"] = importDynamicQuantizeLinear;
  t["MatMulInteger"] = importMatMulInteger;
  t["ConvInteger"] = importConvInteger;
  t["QLinearMatMul"] = importQLinearMatMul;
  t["QLinearConv"] = importQLinearConv;
}

} // namespace kiln
