//===- OpsMath.cpp - ONNX math ops -> kiln ---------------------------------===//
//
// Elementwise arithmetic and activations, matrix products (MatMul, Gemm), reductions,
// Softmax and Cast. Composite activations (HardSwish, Gemm's alpha/beta) decompose into
// kiln ops that kernel formation fuses back into one kernel.
//
//===----------------------------------------------------------------------===//
#include "compiler/frontends/onnx/NodeImporter.h"

using namespace mlir;

namespace kiln {
namespace {

template <typename OpTy> LogicalResult importBinary(NodeImporter &n) {
  auto result = n.binary<OpTy>(n.input(0), n.input(1));
  if (failed(result))
    return failure();
  n.setOutput(0, *result);
  return success();
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
  auto mean = n.binary<DivOp>(sum, count);
  if (failed(mean))
    return failure();
  n.setOutput(0, *mean);
  return success();
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
    if (!bound || bound->floats.size() != 1)
      return n.fail(std::string(i == 1 ? "min" : "max") +
                    " must be a compile-time scalar constant");
    (i == 1 ? lo : hi) = bound->floats[0];
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
    n.fail(error);
    return failure();
  }
  Value result =
      n.create<MatmulOp>(n.tensorType(*shape, n.typeOf(lhs).getElementType()), lhs, rhs);
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
  auto result = buildMatmul(n, n.input(0), n.input(1));
  if (failed(result))
    return failure();
  n.setOutput(0, *result);
  return success();
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
    y = *n.binary<MulOp>(y, n.scalar(alpha, elementType));
  if (Value c = n.input(2)) {
    if (beta != 1.0)
      c = *n.binary<MulOp>(c, n.scalar(beta, elementType));
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
  for (int64_t &a : axes) {
    auto normalized = n.axis(a, rank);
    if (failed(normalized))
      return failure();
    a = *normalized;
  }
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

} // namespace

void registerMathOps(OpTable &t) {
  t["Add"] = importBinary<AddOp>;
  t["Sub"] = importBinary<SubOp>;
  t["Mul"] = importBinary<MulOp>;
  t["Div"] = importBinary<DivOp>;
  t["Pow"] = importBinary<PowOp>;
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
}

} // namespace kiln
