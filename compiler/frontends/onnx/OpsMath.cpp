//===- OpsMath.cpp - ONNX math ops -> kiln ---------------------------------===//
//
// Elementwise arithmetic and activations, matrix products (MatMul, Gemm), reductions,
// Softmax and Cast. Composite activations (HardSwish, Gemm's alpha/beta) decompose into
// kiln ops that kernel formation fuses back into one kernel.
//
//===----------------------------------------------------------------------===//
#include "compiler/frontends/onnx/NodeImporter.h"

#include <cmath>
#include <map>

using namespace mlir;

namespace kiln {
namespace {

template <typename OpTy> LogicalResult importBinary(NodeImporter &n) {
  return n.setOutput(0, n.binary<OpTy>(n.input(0), n.input(1)));
}

/// Pow allows an exponent of another type; the result has the base's type.
LogicalResult importPow(NodeImporter &n) {
  Value base = n.input(0), exponent = n.input(1);
  Type t = n.typeOf(base).getElementType();
  if (n.typeOf(exponent).getElementType() != t)
    exponent = n.create<CastOp>(n.tensorType(n.shapeOf(exponent), t), exponent);
  return n.setOutput(0, n.binary<PowOp>(base, exponent));
}

/// Sum, Max, Min, Mean: a left fold of the binary op over every input.
template <typename OpTy> LogicalResult importVariadic(NodeImporter &n) {
  Value acc = n.input(0);
  for (int i = 1; i < n.inputCount(); ++i) {
    auto next = n.binary<OpTy>(acc, n.input(i));
    if (failed(next))
      return failure();
    acc = *next;
  }
  n.setOutput(0, acc);
  return success();
}

LogicalResult importMean(NodeImporter &n) {
  if (failed(importVariadic<AddOp>(n)))
    return failure();
  Value sum = n.values[n.node.output(0)];
  Value count = n.scalar(n.inputCount(), n.typeOf(sum).getElementType());
  return n.setOutput(0, n.binary<DivOp>(sum, count));
}

template <typename OpTy> LogicalResult importUnary(NodeImporter &n) {
  Value x = n.input(0);
  n.setOutput(0, n.create<OpTy>(x.getType(), x));
  return success();
}

LogicalResult importIdentity(NodeImporter &n) {
  n.setOutput(0, n.input(0));
  return success();
}

LogicalResult importDropout(NodeImporter &n) {
  // Inference: the identity; the optional mask output is all true.
  Value x = n.input(0);
  n.setOutput(0, x);
  if (n.outputCount() > 1) {
    auto shape = n.shapeOf(x);
    std::vector<double> ones(elementCount(shape), 1.0);
    n.setOutput(1, n.constant(shape, n.builder.getI1Type(), ones));
  }
  return success();
}

LogicalResult importLeakyRelu(NodeImporter &n) {
  Value x = n.input(0);
  n.setOutput(0, n.create<LeakyReluOp>(x.getType(), x,
                                       n.builder.getF64FloatAttr(n.floatAttr("alpha", 0.01))));
  return success();
}

LogicalResult importHardSigmoid(NodeImporter &n) {
  Value x = n.input(0);
  n.setOutput(0, n.create<HardSigmoidOp>(x.getType(), x,
                                         n.builder.getF64FloatAttr(n.floatAttr("alpha", 0.2)),
                                         n.builder.getF64FloatAttr(n.floatAttr("beta", 0.5))));
  return success();
}

LogicalResult importHardSwish(NodeImporter &n) {
  // x * hard_sigmoid(x; 1/6, 1/2), as ONNX defines it.
  Value x = n.input(0);
  Value gate = n.create<HardSigmoidOp>(x.getType(), x, n.builder.getF64FloatAttr(1.0 / 6.0),
                                       n.builder.getF64FloatAttr(0.5));
  n.setOutput(0, n.create<MulOp>(x.getType(), x, gate));
  return success();
}

LogicalResult importClip(NodeImporter &n) {
  Value x = n.input(0);
  double lo = -std::numeric_limits<double>::infinity(), hi = -lo;
  if (n.opset < 11) {
    lo = n.floatAttr("min", lo);
    hi = n.floatAttr("max", hi);
  }
  for (int i = 1; i <= 2; ++i) {
    if (!n.input(i))
      continue;
    auto bound = n.constantInput(i);
    if (!bound) {
      // Bounds known only at run time: max(x, min) then min(., max).
      auto clipped = i == 1 ? n.binary<MaxOp>(x, n.input(i)) : n.binary<MinOp>(x, n.input(i));
      if (failed(clipped))
        return failure();
      x = *clipped;
      continue;
    }
    if (bound->floats.size() != 1)
      return n.fail(std::string(i == 1 ? "min" : "max") + " must be a scalar");
    (i == 1 ? lo : hi) = bound->floats[0];
  }
  if (std::isinf(lo) && std::isinf(hi) && lo < 0 && hi > 0) {
    n.setOutput(0, x);
    return success();
  }
  if (lo > hi)
    return n.fail("min " + std::to_string(lo) + " exceeds max " + std::to_string(hi));
  n.setOutput(0, n.create<ClipOp>(x.getType(), x, n.builder.getF64FloatAttr(lo),
                                  n.builder.getF64FloatAttr(hi)));
  return success();
}

LogicalResult importCast(NodeImporter &n) {
  Value x = n.input(0);
  Type to = onnxElementType(n.builder.getContext(), n.intAttr("to", 0));
  if (!to)
    return n.fail("unsupported target type " + std::to_string(n.intAttr("to", 0)));
  n.setOutput(0, n.create<CastOp>(n.tensorType(n.shapeOf(x), to), x));
  return success();
}

LogicalResult importSoftmax(NodeImporter &n) {
  Value x = n.input(0);
  ArrayRef<int64_t> shape = n.shapeOf(x);
  auto axis = n.axis(n.intAttr("axis", n.opset < 13 ? 1 : -1), shape.size());
  if (failed(axis))
    return failure();
  if (n.opset < 13 && *axis != int64_t(shape.size()) - 1) {
    // Before opset 13 Softmax normalizes over all axes from `axis` on, as one 2-D row.
    Shape original(shape);
    Value rows = n.reshape(x, {elementCount(shape.take_front(*axis)),
                               elementCount(shape.drop_front(*axis))});
    Value y = n.create<SoftmaxOp>(rows.getType(), rows, n.builder.getI64IntegerAttr(1));
    n.setOutput(0, n.reshape(y, original));
    return success();
  }
  n.setOutput(0, n.create<SoftmaxOp>(x.getType(), x, n.builder.getI64IntegerAttr(*axis)));
  return success();
}

LogicalResult importLogSoftmax(NodeImporter &n) {
  if (failed(importSoftmax(n)))
    return failure();
  Value softmax = n.values[n.node.output(0)];
  n.setOutput(0, n.create<LogOp>(softmax.getType(), softmax));
  return success();
}

/// MatMul with NumPy semantics: 1-D operands are promoted, then the added axis removed.
FailureOr<Value> buildMatmul(NodeImporter &n, Value lhs, Value rhs) {
  Shape lhsShape(n.shapeOf(lhs)), rhsShape(n.shapeOf(rhs));
  bool lhsVector = lhsShape.size() == 1, rhsVector = rhsShape.size() == 1;
  if (lhsVector)
    lhs = n.reshape(lhs, {1, lhsShape[0]});
  if (rhsVector)
    rhs = n.reshape(rhs, {rhsShape[0], 1});
  std::string error;
  auto shape = matmulResultShape(n.shapeOf(lhs), n.shapeOf(rhs), error);
  if (!shape) {
    return n.fail(error);
  }
  Type elementType = n.typeOf(lhs).getElementType();
  // An empty reduction (K = 0) sums nothing: the result is zeros, with no kernel to run.
  Value result = n.shapeOf(lhs).back() == 0
                     ? Value(ConstantOp::create(
                           n.builder, n.loc, n.tensorType(*shape, elementType),
                           DenseElementsAttr::get(n.tensorType(*shape, elementType),
                                                  n.builder.getZeroAttr(elementType))))
                     : n.create<MatmulOp>(n.tensorType(*shape, elementType), lhs, rhs);
  Shape finalShape(*shape);
  if (rhsVector)
    finalShape.erase(finalShape.end() - 1);
  if (lhsVector)
    finalShape.erase(finalShape.end() - (rhsVector ? 1 : 2));
  if (lhsVector || rhsVector)
    result = n.reshape(result, finalShape);
  return result;
}

LogicalResult importMatMul(NodeImporter &n) {
  return n.setOutput(0, buildMatmul(n, n.input(0), n.input(1)));
}

LogicalResult importGemm(NodeImporter &n) {
  Value a = n.input(0), b = n.input(1);
  if (n.shapeOf(a).size() != 2 || n.shapeOf(b).size() != 2)
    return n.fail("A and B must be matrices");
  if (n.intAttr("transA", 0))
    a = n.transpose(a, {1, 0});
  if (n.intAttr("transB", 0))
    b = n.transpose(b, {1, 0});
  auto product = buildMatmul(n, a, b);
  if (failed(product))
    return failure();
  Value y = *product;
  Type elementType = n.typeOf(y).getElementType();
  double alpha = n.floatAttr("alpha", 1.0), beta = n.floatAttr("beta", 1.0);
  if (alpha != 1.0)
    y = n.must(n.binary<MulOp>(y, n.scalar(alpha, elementType)));
  if (Value c = n.input(2)) {
    if (beta != 1.0)
      c = n.must(n.binary<MulOp>(c, n.scalar(beta, elementType)));
    auto sum = n.binary<AddOp>(y, c);
    if (failed(sum))
      return failure();
    y = *sum;
  }
  n.setOutput(0, y);
  return success();
}

/// Reductions. `axesFromInput`: ReduceSum (opset 13+) takes axes as input 1; the others
/// take an attribute up to opset 17.
template <bool AxesFromInputAt13>
LogicalResult importReduce(NodeImporter &n, const std::string &kind) {
  bool AxesFromInput = AxesFromInputAt13 && n.opset >= 13;
  Value x = n.input(0);
  int64_t rank = n.shapeOf(x).size();
  std::vector<int64_t> axes;
  if (AxesFromInput && n.input(1)) {
    auto constant = n.constantInts(1, "axes");
    if (failed(constant))
      return failure();
    axes = *constant;
  } else if (!AxesFromInput) {
    axes = n.intsAttr("axes");
  }
  if (axes.empty()) {
    if (AxesFromInput && n.intAttr("noop_with_empty_axes", 0)) {
      n.setOutput(0, x);
      return success();
    }
    for (int64_t i = 0; i < rank; ++i)
      axes.push_back(i);
  }
  if (failed(n.normalizeAxes(axes, rank)))
    return failure();
  std::sort(axes.begin(), axes.end());
  axes.erase(std::unique(axes.begin(), axes.end()), axes.end());
  bool keepDims = n.intAttr("keepdims", 1);
  Shape shape;
  for (int64_t i = 0; i < rank; ++i) {
    bool reduced = std::find(axes.begin(), axes.end(), i) != axes.end();
    if (!reduced)
      shape.push_back(n.shapeOf(x)[i]);
    else if (keepDims)
      shape.push_back(1);
  }
  if (rank == 0) {
    n.setOutput(0, x);
    return success();
  }
  n.setOutput(0, n.create<ReduceOp>(n.tensorType(shape, n.typeOf(x).getElementType()), x,
                                    n.builder.getStringAttr(kind),
                                    n.builder.getDenseI64ArrayAttr(axes)));
  return success();
}

FailureOr<Value> buildArgReduce(NodeImporter &n, Value x, const std::string &kind, int64_t axis,
                                bool keepDims, bool last) {
  ArrayRef<int64_t> shape = n.shapeOf(x);
  Shape resultShape;
  for (size_t i = 0; i < shape.size(); ++i)
    if (int64_t(i) != axis)
      resultShape.push_back(shape[i]);
    else if (keepDims)
      resultShape.push_back(1);
  return n.create<ArgReduceOp>(n.tensorType(resultShape, n.builder.getI64Type()), x,
                               n.builder.getStringAttr(kind), n.builder.getI64IntegerAttr(axis),
                               n.builder.getBoolAttr(last));
}

LogicalResult importArgReduce(NodeImporter &n, const std::string &kind) {
  Value x = n.input(0);
  auto axis = n.axis(n.intAttr("axis", 0), n.shapeOf(x).size());
  if (failed(axis))
    return failure();
  return n.setOutput(0, buildArgReduce(n, x, kind, *axis, n.intAttr("keepdims", 1),
                               n.intAttr("select_last_index", 0)));
}

LogicalResult importHardmax(NodeImporter &n) {
  // one_hot(argmax(x, axis)) along `axis`: compare the kept-dims argmax with an iota.
  Value x = n.input(0);
  ArrayRef<int64_t> shape = n.shapeOf(x);
  if (n.opset < 13) {
    // Before 13: over the flattened trailing axes; reshape, hardmax on axis 1, reshape back.
    auto axis = n.axis(n.intAttr("axis", 1), shape.size());
    if (failed(axis))
      return failure();
    Shape original(shape);
    Value rows = n.reshape(x, {elementCount(shape.take_front(*axis)),
                               elementCount(shape.drop_front(*axis))});
    Value index = *buildArgReduce(n, rows, "max", 1, true, false);
    int64_t width = n.shapeOf(rows)[1];
    if (width > kMaxFoldedElements)
      return n.fail("Hardmax over " + std::to_string(width) + " elements is not supported");
    std::vector<int64_t> iota(width);
    for (int64_t i = 0; i < width; ++i) iota[i] = i;
    Value hot = n.must(n.compare("eq", index, n.constant({1, width}, n.builder.getI64Type(), {}, iota)));
    n.setOutput(0, n.reshape(n.create<CastOp>(n.tensorType(n.shapeOf(hot), n.typeOf(x).getElementType()), hot), original));
    return success();
  }
  auto axis = n.axis(n.intAttr("axis", -1), shape.size());
  if (failed(axis))
    return failure();
  if (shape[*axis] > kMaxFoldedElements)
    return n.fail("Hardmax over " + std::to_string(shape[*axis]) + " elements is not supported");
  Value index = *buildArgReduce(n, x, "max", *axis, true, false);
  Shape iotaShape(shape.size(), 1);
  iotaShape[*axis] = shape[*axis];
  std::vector<int64_t> iota(shape[*axis]);
  for (int64_t i = 0; i < shape[*axis]; ++i) iota[i] = i;
  Value hot = n.must(n.compare("eq", index, n.constant(iotaShape, n.builder.getI64Type(), {}, iota)));
  n.setOutput(0, n.create<CastOp>(n.tensorType(shape, n.typeOf(x).getElementType()), hot));
  return success();
}

LogicalResult importCumSum(NodeImporter &n) {
  Value x = n.input(0);
  auto axisValues = n.constantInts(1, "axis");
  if (failed(axisValues))
    return failure();
  if (axisValues->size() != 1)
    return n.fail("axis must be a scalar");
  auto axis = n.axis((*axisValues)[0], n.shapeOf(x).size());
  if (failed(axis))
    return failure();
  n.setOutput(0, n.create<CumsumOp>(x.getType(), x, n.builder.getI64IntegerAttr(*axis),
                                    n.builder.getBoolAttr(n.intAttr("exclusive", 0)),
                                    n.builder.getBoolAttr(n.intAttr("reverse", 0))));
  return success();
}

LogicalResult importEinsum(NodeImporter &n) {
  std::string equation;
  for (char c : n.stringAttr("equation", ""))
    if (c != ' ')
      equation += c;
  if (equation.find("...") != std::string::npos)
    return n.fail("equations with an ellipsis are not supported");
  size_t arrow = equation.find("->");
  std::string lhs = equation.substr(0, arrow);
  SmallVector<StringRef> terms;
  StringRef(lhs).split(terms, ',');
  if (int(terms.size()) != n.inputCount())
    return n.fail("equation has " + std::to_string(terms.size()) + " operands, node has " +
                  std::to_string(n.inputCount()));
  std::map<char, int64_t> extent;
  std::map<char, int> count;
  SmallVector<Value> inputs;
  for (size_t k = 0; k < terms.size(); ++k) {
    Value v = n.input(k);
    inputs.push_back(v);
    if (terms[k].size() != n.shapeOf(v).size())
      return n.fail("term '" + terms[k].str() + "' does not match operand rank " +
                    std::to_string(n.shapeOf(v).size()));
    for (size_t i = 0; i < terms[k].size(); ++i) {
      char c = terms[k][i];
      if (extent.count(c) && extent[c] != n.shapeOf(v)[i])
        return n.fail(std::string("index '") + c + "' has two different extents");
      extent[c] = n.shapeOf(v)[i];
      ++count[c];
    }
  }
  std::string rhs;
  if (arrow == std::string::npos) {
    // Implicit output: letters that appear once, in alphabetical order.
    for (auto [c, k] : count)
      if (k == 1)
        rhs += c;
  } else {
    rhs = equation.substr(arrow + 2);
  }
  Shape shape;
  for (char c : rhs) {
    if (!extent.count(c))
      return n.fail(std::string("output index '") + c + "' does not appear in the inputs");
    shape.push_back(extent[c]);
  }
  n.setOutput(0, n.create<EinsumOp>(n.tensorType(shape, n.typeOf(inputs[0]).getElementType()),
                                    inputs, n.builder.getStringAttr(lhs + "->" + rhs)));
  return success();
}

} // namespace

void registerMathOps(OpTable &t) {
  t["Add"] = importBinary<AddOp>;
  t["Sub"] = importBinary<SubOp>;
  t["Mul"] = importBinary<MulOp>;
  t["Div"] = importBinary<DivOp>;
  t["Pow"] = importPow;
  t["Max"] = importVariadic<MaxOp>;
  t["Min"] = importVariadic<MinOp>;
  t["Sum"] = importVariadic<AddOp>;
  t["Mean"] = importMean;
  t["Neg"] = importUnary<NegOp>;
  t["Abs"] = importUnary<AbsOp>;
  t["Sqrt"] = importUnary<SqrtOp>;
  t["Exp"] = importUnary<ExpOp>;
  t["Log"] = importUnary<LogOp>;
  t["Tanh"] = importUnary<TanhOp>;
  t["Erf"] = importUnary<ErfOp>;
  t["Sigmoid"] = importUnary<SigmoidOp>;
  t["Relu"] = importUnary<ReluOp>;
  t["Floor"] = importUnary<FloorOp>;
  t["Ceil"] = importUnary<CeilOp>;
  t["Reciprocal"] = importUnary<ReciprocalOp>;
  t["LeakyRelu"] = importLeakyRelu;
  t["HardSigmoid"] = importHardSigmoid;
  t["HardSwish"] = importHardSwish;
  t["Clip"] = importClip;
  t["Cast"] = importCast;
  t["Identity"] = importIdentity;
  t["Dropout"] = importDropout;
  t["Softmax"] = importSoftmax;
  t["LogSoftmax"] = importLogSoftmax;
  t["MatMul"] = importMatMul;
  t["Gemm"] = importGemm;
  t["ReduceSum"] = [](NodeImporter &n) { return importReduce<true>(n, "sum"); };
  t["ReduceMean"] = [](NodeImporter &n) { return importReduce<false>(n, "mean"); };
  t["ReduceMax"] = [](NodeImporter &n) { return importReduce<false>(n, "max"); };
  t["ReduceMin"] = [](NodeImporter &n) { return importReduce<false>(n, "min"); };
  t["ReduceProd"] = [](NodeImporter &n) { return importReduce<false>(n, "prod"); };
  t["ReduceL1"] = [](NodeImporter &n) { return importReduce<false>(n, "l1"); };
  t["ReduceL2"] = [](NodeImporter &n) { return importReduce<false>(n, "l2"); };
  t["ReduceLogSum"] = [](NodeImporter &n) { return importReduce<false>(n, "log_sum"); };
  t["ReduceLogSumExp"] = [](NodeImporter &n) { return importReduce<false>(n, "log_sum_exp"); };
  t["ReduceSumSquare"] = [](NodeImporter &n) { return importReduce<false>(n, "sum_square"); };
  t["ArgMax"] = [](NodeImporter &n) { return importArgReduce(n, "max"); };
  t["ArgMin"] = [](NodeImporter &n) { return importArgReduce(n, "min"); };
  t["Hardmax"] = importHardmax;
  t["CumSum"] = importCumSum;
  t["Einsum"] = importEinsum;
}

} // namespace kiln
