//===- OpsNN.cpp - ONNX neural-network ops -> kiln --------------------------===//
//
// Convolutions, pooling, BatchNormalization and Resize. auto_pad, ceil_mode and
// output_shape are resolved here into explicit pads so kiln.conv/kiln.pool carry one form.
//
//===----------------------------------------------------------------------===//
#include "compiler/frontends/onnx/NodeImporter.h"

#include <algorithm>
#include <cmath>

using namespace mlir;

namespace kiln {
namespace {

/// Window attributes after resolving auto_pad.
struct Window {
  std::vector<int64_t> kernel, strides, pads, dilations;
};

FailureOr<Window> readWindow(NodeImporter &n, ArrayRef<int64_t> inputShape,
                             ArrayRef<int64_t> kernel) {
  size_t spatial = inputShape.size() - 2;
  Window w;
  w.kernel.assign(kernel.begin(), kernel.end());
  w.strides = n.intsAttr("strides", std::vector<int64_t>(spatial, 1));
  w.dilations = n.intsAttr("dilations", std::vector<int64_t>(spatial, 1));
  w.pads = n.intsAttr("pads", std::vector<int64_t>(2 * spatial, 0));
  if (w.kernel.size() != spatial || w.strides.size() != spatial ||
      w.dilations.size() != spatial || w.pads.size() != 2 * spatial) {
    return n.fail("kernel_shape, strides, dilations or pads do not match " + std::to_string(spatial) +
           " spatial axes");
  }
  if (failed(n.checkWindow(w.kernel, w.strides, w.dilations, w.pads)))
    return failure();
  std::string autoPad = n.stringAttr("auto_pad", "NOTSET");
  if (autoPad == "VALID") {
    std::fill(w.pads.begin(), w.pads.end(), 0);
  } else if (autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER") {
    for (size_t i = 0; i < spatial; ++i) {
      int64_t in = inputShape[2 + i];
      int64_t out = (in + w.strides[i] - 1) / w.strides[i];
      int64_t total = std::max<int64_t>(
          (out - 1) * w.strides[i] + (w.kernel[i] - 1) * w.dilations[i] + 1 - in, 0);
      int64_t small = total / 2, large = total - small;
      w.pads[i] = autoPad == "SAME_UPPER" ? small : large;
      w.pads[spatial + i] = autoPad == "SAME_UPPER" ? large : small;
    }
  } else if (autoPad != "NOTSET") {
    return n.fail("unsupported auto_pad '" + autoPad + "'");
  }
  return w;
}

LogicalResult importConv(NodeImporter &n) {
  Value x = n.input(0), weight = n.input(1), bias = n.input(2);
  ArrayRef<int64_t> xShape = n.shapeOf(x), wShape = n.shapeOf(weight);
  if (xShape.size() < 3 || wShape.size() != xShape.size())
    return n.fail("input " + shapeToString(xShape) + " and weight " + shapeToString(wShape) +
                  " must have the same rank >= 3");
  auto window = readWindow(n, xShape, n.intsAttr("kernel_shape", wShape.drop_front(2).vec()));
  if (failed(window))
    return failure();
  int64_t groups = n.intAttr("group", 1);
  std::string error;
  auto shape = convResultShape(xShape, wShape, window->strides, window->pads,
                               window->dilations, groups, error);
  if (!shape)
    return n.fail(error);
  auto &b = n.builder;
  n.setOutput(0, n.create<ConvOp>(n.tensorType(*shape, n.typeOf(x).getElementType()), x, weight,
                                  bias, b.getDenseI64ArrayAttr(window->strides),
                                  b.getDenseI64ArrayAttr(window->pads),
                                  b.getDenseI64ArrayAttr(window->dilations),
                                  b.getI64IntegerAttr(groups)));
  return success();
}

LogicalResult importConvTranspose(NodeImporter &n) {
  Value x = n.input(0), weight = n.input(1), bias = n.input(2);
  ArrayRef<int64_t> xShape = n.shapeOf(x), wShape = n.shapeOf(weight);
  if (xShape.size() < 3 || wShape.size() != xShape.size())
    return n.fail("input and weight must have the same rank >= 3");
  size_t spatial = xShape.size() - 2;
  std::vector<int64_t> kernel = n.intsAttr("kernel_shape", wShape.drop_front(2).vec());
  std::vector<int64_t> strides = n.intsAttr("strides", std::vector<int64_t>(spatial, 1));
  std::vector<int64_t> dilations = n.intsAttr("dilations", std::vector<int64_t>(spatial, 1));
  std::vector<int64_t> pads = n.intsAttr("pads", std::vector<int64_t>(2 * spatial, 0));
  std::vector<int64_t> outputPadding =
      n.intsAttr("output_padding", std::vector<int64_t>(spatial, 0));
  std::vector<int64_t> outputShape = n.intsAttr("output_shape");
  std::string autoPad = n.stringAttr("auto_pad", "NOTSET");
  if (strides.size() != spatial || dilations.size() != spatial || pads.size() != 2 * spatial ||
      outputPadding.size() != spatial || kernel.size() != spatial ||
      (!outputShape.empty() && outputShape.size() < spatial))
    return n.fail("window attributes do not match " + std::to_string(spatial) + " spatial axes");
  if (failed(n.checkWindow(kernel, strides, dilations, pads)) ||
      failed(n.checkRange(outputPadding, 0, NodeImporter::kMaxWindow, "output padding")) ||
      failed(n.checkRange(outputShape, 0, INT32_MAX, "output shape")))
    return failure();
  if (!outputShape.empty() || autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER") {
    // Total padding from the requested output size (ONNX ConvTranspose spec).
    if (outputShape.size() > spatial)
      outputShape.erase(outputShape.begin(), outputShape.end() - spatial);
    for (size_t i = 0; i < spatial; ++i) {
      int64_t want = outputShape.empty() ? xShape[2 + i] * strides[i] : outputShape[i];
      int64_t total = strides[i] * (xShape[2 + i] - 1) + outputPadding[i] +
                      ((kernel[i] - 1) * dilations[i] + 1) - want;
      int64_t half = total / 2;
      bool upper = autoPad != "SAME_LOWER";
      pads[i] = upper ? half : total - half;
      pads[spatial + i] = upper ? total - half : half;
    }
  } else if (autoPad == "VALID") {
    std::fill(pads.begin(), pads.end(), 0);
  }
  // output_padding extends the end: the same as a negative end pad.
  for (size_t i = 0; i < spatial; ++i)
    pads[spatial + i] -= outputPadding[i];
  int64_t groups = n.intAttr("group", 1);
  std::string error;
  auto shape = convTransposeResultShape(xShape, wShape, strides, pads, dilations, groups, error);
  if (!shape)
    return n.fail(error);
  auto &b = n.builder;
  n.setOutput(0, n.create<ConvTransposeOp>(
                     n.tensorType(*shape, n.typeOf(x).getElementType()), x, weight, bias,
                     b.getDenseI64ArrayAttr(strides), b.getDenseI64ArrayAttr(pads),
                     b.getDenseI64ArrayAttr(dilations), b.getI64IntegerAttr(groups)));
  return success();
}

LogicalResult importPool(NodeImporter &n, const std::string &kind) {
  Value x = n.input(0);
  ArrayRef<int64_t> xShape = n.shapeOf(x);
  if (xShape.size() < 3)
    return n.fail("input must have rank >= 3, got " + shapeToString(xShape));
  auto window = readWindow(n, xShape, n.intsAttr("kernel_shape"));
  if (failed(window))
    return failure();
  size_t spatial = xShape.size() - 2;
  if (n.intAttr("ceil_mode", 0)) {
    // Grow the end pad so the floor rule yields the ceil size; the last window must
    // still start inside the input or the begin pad.
    for (size_t i = 0; i < spatial; ++i) {
      int64_t effective = window->dilations[i] * (window->kernel[i] - 1) + 1;
      int64_t span = xShape[2 + i] + window->pads[i] + window->pads[spatial + i] - effective;
      int64_t out = (span + window->strides[i] - 1) / window->strides[i] + 1;
      if ((out - 1) * window->strides[i] >= xShape[2 + i] + window->pads[i])
        --out;
      window->pads[spatial + i] += std::max<int64_t>(
          0, (out - 1) * window->strides[i] + effective - (xShape[2 + i] + window->pads[i] +
                                                           window->pads[spatial + i]));
    }
  }
  Shape shape{xShape[0], xShape[1]};
  for (size_t i = 0; i < spatial; ++i)
    shape.push_back(windowOutputSize(xShape[2 + i], window->kernel[i], window->strides[i],
                                     window->pads[i], window->pads[spatial + i],
                                     window->dilations[i]));
  auto &b = n.builder;
  n.setOutput(0, n.create<PoolOp>(n.tensorType(shape, n.typeOf(x).getElementType()), x,
                                  b.getStringAttr(kind), b.getDenseI64ArrayAttr(window->kernel),
                                  b.getDenseI64ArrayAttr(window->strides),
                                  b.getDenseI64ArrayAttr(window->pads),
                                  b.getDenseI64ArrayAttr(window->dilations),
                                  b.getBoolAttr(n.intAttr("count_include_pad", 0) != 0)));
  if (n.wantsOutput(1)) {
    // Indices: where each maximum is, computed by the runtime (a first-maximum search per
    // window; models read it only to unpool).
    if (spatial != 2 || n.typeOf(x).getElementType() != b.getF32Type())
      return n.fail("the Indices output of MaxPool is supported for 2-D float32 pooling");
    n.setOutput(1, MaxPoolIndicesOp::create(
                       b, n.loc, n.tensorType(shape, b.getI64Type()), x,
                       b.getDenseI64ArrayAttr(window->kernel), b.getDenseI64ArrayAttr(window->strides),
                       b.getDenseI64ArrayAttr(window->pads), b.getDenseI64ArrayAttr(window->dilations),
                       b.getBoolAttr(n.intAttr("storage_order", 0) != 0)));
  }
  return success();
}

LogicalResult importGlobalPool(NodeImporter &n, const std::string &kind) {
  Value x = n.input(0);
  ArrayRef<int64_t> xShape = n.shapeOf(x);
  if (xShape.size() < 3)
    return n.fail("input must have rank >= 3");
  Shape shape{xShape[0], xShape[1]};
  SmallVector<int64_t> axes;
  for (size_t i = 2; i < xShape.size(); ++i) {
    shape.push_back(1);
    axes.push_back(i);
  }
  n.setOutput(0, n.create<ReduceOp>(n.tensorType(shape, n.typeOf(x).getElementType()), x,
                                    n.builder.getStringAttr(kind),
                                    n.builder.getDenseI64ArrayAttr(axes)));
  return success();
}

/// Per-channel vector `v` shaped [C, 1, ...] to broadcast against [N, C, spatial...].
Value channelVector(NodeImporter &n, Value v, int64_t rank) {
  Shape shape{n.shapeOf(v)[0]};
  for (int64_t i = 2; i < rank; ++i)
    shape.push_back(1);
  return n.reshape(v, shape);
}

/// MaxUnpool: each input value goes to the flat output position its index names (as
/// MaxPool's Indices output gives it), zeros elsewhere: a ScatterElements over the output
/// flattened.
LogicalResult importMaxUnpool(NodeImporter &n) {
  Value x = n.input(0), indices = n.input(1);
  ArrayRef<int64_t> xs = n.shapeOf(x);
  if (xs.size() < 3 || n.shapeOf(indices) != xs ||
      !n.typeOf(indices).getElementType().isInteger(64))
    return n.fail("X must be [N, C, spatial...] and I int64 of the same shape");
  size_t spatial = xs.size() - 2;
  std::vector<int64_t> kernel = n.intsAttr("kernel_shape");
  std::vector<int64_t> strides = n.intsAttr("strides", std::vector<int64_t>(spatial, 1));
  std::vector<int64_t> pads = n.intsAttr("pads", std::vector<int64_t>(2 * spatial, 0));
  if (kernel.size() != spatial || strides.size() != spatial || pads.size() != 2 * spatial)
    return n.fail("kernel_shape, strides and pads must give every spatial axis");
  if (failed(n.checkWindow(kernel, strides, std::vector<int64_t>(spatial, 1), pads)))
    return failure();
  Shape out(xs.begin(), xs.end());
  for (size_t d = 0; d < spatial; ++d)
    out[2 + d] = (xs[2 + d] - 1) * strides[d] - pads[d] - pads[spatial + d] + kernel[d];
  Type element = n.typeOf(x).getElementType();
  int64_t total = elementCount(out), count = elementCount(xs);
  Value zeros = n.create<ExpandOp>(n.tensorType({total}, element), n.scalar(0, element));
  Value y = n.reshape(n.create<ScatterElementsOp>(zeros.getType(), zeros,
                                                 n.reshape(indices, {count}), n.reshape(x, {count}),
                                                 n.builder.getI64IntegerAttr(0),
                                                 n.builder.getStringAttr("none")),
                      out);
  if (n.input(2)) {
    // output_shape (the size MaxPool started from, when its windows left a remainder): the
    // indices still count in the default shape; the rest is zeros at each axis's end.
    auto given = n.constantInts(2, "output_shape");
    if (failed(given))
      return failure();
    if (given->size() != out.size())
      return n.fail("output_shape has " + std::to_string(given->size()) + " entries, X rank " +
                    std::to_string(out.size()));
    SmallVector<int64_t> padsAt(2 * out.size(), 0);
    for (size_t d = 0; d < out.size(); ++d) {
      if ((*given)[d] < out[d] || (d < 2 && (*given)[d] != out[d]))
        return n.fail("output_shape " + shapeToString(*given) + " is smaller than the unpooled " +
                      shapeToString(out) + " or changes N or C");
      padsAt[out.size() + d] = (*given)[d] - out[d];
    }
    y = n.create<PadOp>(n.tensorType(*given, element), y, n.builder.getStringAttr("constant"),
                        n.builder.getDenseI64ArrayAttr(padsAt), n.builder.getF64FloatAttr(0));
  }
  n.setOutput(0, y);
  return success();
}

LogicalResult importBatchNorm(NodeImporter &n) {
  // y = (x - mean) / sqrt(var + eps) * scale + bias = x * a + (bias - mean * a). With
  // constant statistics a and the shift fold to two per-channel constants.
  Value x = n.input(0), scale = n.input(1), bias = n.input(2), mean = n.input(3),
        var = n.input(4);
  int64_t rank = n.shapeOf(x).size();
  if (rank < 2)
    return n.fail("input must have rank >= 2");
  for (Value v : {scale, bias, mean, var})
    if (n.shapeOf(v).size() != 1 || n.shapeOf(v)[0] != n.shapeOf(x)[1])
      return n.fail("scale, bias, mean and var must have shape [" +
                    std::to_string(n.shapeOf(x)[1]) + "]");
  for (int i = 1; i < n.outputCount(); ++i)
    if (n.wantsOutput(i))
      return n.fail("training-mode outputs (running mean/var) are not supported");
  Type elementType = n.typeOf(x).getElementType();
  Value eps = n.scalar(n.floatAttr("epsilon", 1e-5), elementType);
  Value stddev = n.create<SqrtOp>(var.getType(), n.must(n.binary<AddOp>(var, eps)));
  Value a = n.must(n.binary<DivOp>(scale, stddev));
  Value shift = n.must(n.binary<SubOp>(bias, n.must(n.binary<MulOp>(mean, a))));
  Value y = n.must(n.binary<MulOp>(x, channelVector(n, a, rank)));
  n.setOutput(0, n.must(n.binary<AddOp>(y, channelVector(n, shift, rank))));
  return success();
}

LogicalResult importResize(NodeImporter &n) {
  Value x = n.input(0);
  ArrayRef<int64_t> xShape = n.shapeOf(x);
  size_t rank = xShape.size();
  std::vector<double> scales;
  Shape shape;
  // Opset 10 Resize and Upsample take scales as input 1; opset 11+ as input 2 (or sizes 3).
  int scalesInput = (n.opset < 11 || n.node.op_type() == "Upsample") ? 1 : 2;
  if (n.node.op_type() == "Upsample" && n.opset < 9) {
    std::vector<float> attr = n.floatsAttr("scales");
    if (attr.size() != rank)
      return n.fail("scales must have one entry per axis");
    for (size_t i = 0; i < rank; ++i) {
      scales.push_back(attr[i]);
      shape.push_back(toInt64(std::floor(double(xShape[i]) * attr[i])));
    }
  } else if (scalesInput == 2 && n.input(3)) {
    auto sizes = n.constantInts(3, "sizes");
    if (failed(sizes))
      return failure();
    if (sizes->size() != rank)
      return n.fail("sizes has " + std::to_string(sizes->size()) + " entries for rank " +
                    std::to_string(rank));
    for (size_t i = 0; i < rank; ++i) {
      shape.push_back((*sizes)[i]);
      scales.push_back(double((*sizes)[i]) / double(xShape[i]));
    }
  } else {
    auto constant = n.constantInput(scalesInput);
    if (!constant)
      return n.notConstant(scalesInput, "scales");
    if (constant->floats.size() != rank)
      return n.fail("scales must have one entry per axis");
    for (size_t i = 0; i < rank; ++i) {
      scales.push_back(constant->floats[i]);
      shape.push_back(toInt64(std::floor(double(xShape[i]) * constant->floats[i])));
    }
  }
  std::string mode = n.stringAttr("mode", "nearest");
  // Before opset 11 (and in Upsample) coordinates are asymmetric and nearest rounds down.
  bool legacy = scalesInput == 1;
  std::string coordinateMode = legacy ? "asymmetric"
                                      : n.stringAttr("coordinate_transformation_mode", "half_pixel");
  std::string nearestMode = legacy ? "floor" : n.stringAttr("nearest_mode", "round_prefer_floor");
  if (mode == "bilinear")
    mode = "linear";
  if (mode != "nearest" && mode != "linear" && mode != "cubic")
    return n.fail("mode '" + mode + "' is not supported");
  static const char *coordinateModes[] = {"half_pixel", "pytorch_half_pixel", "align_corners",
                                          "asymmetric", "tf_half_pixel_for_nn"};
  if (!llvm::is_contained(coordinateModes, coordinateMode))
    return n.fail("coordinate_transformation_mode '" + coordinateMode + "' is not supported");
  static const char *nearestModes[] = {"round_prefer_floor", "round_prefer_ceil", "floor",
                                       "ceil"};
  if (!llvm::is_contained(nearestModes, nearestMode))
    return n.fail("nearest_mode '" + nearestMode + "' is not supported");
  auto &b = n.builder;
  Value y = n.create<ResizeOp>(n.tensorType(shape, n.typeOf(x).getElementType()), x,
                               b.getStringAttr(mode), b.getStringAttr(coordinateMode),
                               b.getStringAttr(nearestMode), b.getDenseF64ArrayAttr(scales));
  // Cubic's parameters ride as discardable attributes read by codegen.
  if (Operation *op = y.getDefiningOp()) {
    if (mode == "cubic") {
      op->setAttr("cubic_coeff_a", b.getF64FloatAttr(n.floatAttr("cubic_coeff_a", -0.75)));
      if (n.intAttr("exclude_outside", 0))
        op->setAttr("exclude_outside", b.getUnitAttr());
    }
  }
  n.setOutput(0, y);
  return success();
}

/// mean over `axes` (kept as size 1).
Value meanOver(NodeImporter &n, Value x, ArrayRef<int64_t> axes) {
  Shape shape(n.shapeOf(x));
  for (int64_t a : axes)
    shape[a] = 1;
  return n.create<ReduceOp>(n.tensorType(shape, n.typeOf(x).getElementType()), x,
                            n.builder.getStringAttr("mean"), n.builder.getDenseI64ArrayAttr(axes));
}

/// (x - mean) / sqrt(var + eps) over `axes`; also returns mean and 1/sqrt(var + eps).
struct Normalized {
  Value y, mean, inverseStd;
};
Normalized normalize(NodeImporter &n, Value x, ArrayRef<int64_t> axes, double epsilon) {
  Type t = n.typeOf(x).getElementType();
  Value mean = meanOver(n, x, axes);
  Value centered = n.must(n.binary<SubOp>(x, mean));
  Value variance = meanOver(n, n.must(n.binary<MulOp>(centered, centered)), axes);
  Value inverseStd = n.unary<ReciprocalOp>(
      n.unary<SqrtOp>(n.must(n.binary<AddOp>(variance, n.scalar(epsilon, t)))));
  return {n.must(n.binary<MulOp>(centered, inverseStd)), mean, inverseStd};
}

LogicalResult importLayerNorm(NodeImporter &n) {
  Value x = n.input(0), scale = n.input(1), bias = n.input(2);
  int64_t rank = n.shapeOf(x).size();
  auto axis = n.axis(n.intAttr("axis", -1), rank);
  if (failed(axis))
    return failure();
  SmallVector<int64_t> axes;
  for (int64_t i = *axis; i < rank; ++i)
    axes.push_back(i);
  double epsilon = n.floatAttr("epsilon", 1e-5);
  // One op when only the normalized output is wanted (the usual case): one kernel then
  // takes mean, variance and the normalization per row. The optional Mean and InvStdDev
  // outputs need the decomposed form.
  bool statistics = n.wantsOutput(1) || n.wantsOutput(2);
  Normalized r;
  if (!statistics && llvm::isa<FloatType>(n.typeOf(x).getElementType()))
    r.y = n.create<LayerNormOp>(x.getType(), x, n.builder.getI64IntegerAttr(*axis),
                                n.builder.getF64FloatAttr(epsilon));
  else
    r = normalize(n, x, axes, epsilon);
  auto y = n.binary<MulOp>(r.y, scale);
  if (failed(y))
    return failure();
  if (bias) {
    y = n.binary<AddOp>(*y, bias);
    if (failed(y))
      return failure();
  }
  n.setOutput(0, *y);
  if (statistics) {
    n.setOutput(1, r.mean);
    n.setOutput(2, r.inverseStd);
  }
  return success();
}

LogicalResult importInstanceNorm(NodeImporter &n) {
  Value x = n.input(0), scale = n.input(1), bias = n.input(2);
  int64_t rank = n.shapeOf(x).size();
  if (rank < 3)
    return n.fail("input must have rank >= 3");
  for (Value v : {scale, bias})
    if (n.shapeOf(v).size() != 1 || n.shapeOf(v)[0] != n.shapeOf(x)[1])
      return n.fail("scale and bias must have shape [" + std::to_string(n.shapeOf(x)[1]) + "]");
  SmallVector<int64_t> axes;
  for (int64_t i = 2; i < rank; ++i)
    axes.push_back(i);
  Normalized r = normalize(n, x, axes, n.floatAttr("epsilon", 1e-5));
  Value y = n.must(n.binary<MulOp>(r.y, channelVector(n, scale, rank)));
  n.setOutput(0, n.must(n.binary<AddOp>(y, channelVector(n, bias, rank))));
  return success();
}

LogicalResult importMeanVarianceNorm(NodeImporter &n) {
  // ONNX's function body: (x - E[x]) / (sqrt(E[x^2] - E[x]^2) + 1e-9).
  Value x = n.input(0);
  Type t = n.typeOf(x).getElementType();
  int64_t rank = n.shapeOf(x).size();
  std::vector<int64_t> axes = n.intsAttr("axes", {0, 2, 3});
  if (failed(n.normalizeAxes(axes, rank)))
    return failure();
  std::sort(axes.begin(), axes.end());
  Value mean = meanOver(n, x, axes);
  Value meanOfSquares = meanOver(n, n.must(n.binary<MulOp>(x, x)), axes);
  Value variance = n.must(n.binary<SubOp>(meanOfSquares, n.must(n.binary<MulOp>(mean, mean))));
  Value denominator = n.must(n.binary<AddOp>(n.unary<SqrtOp>(variance), n.scalar(1e-9, t)));
  n.setOutput(0, n.must(n.binary<DivOp>(n.must(n.binary<SubOp>(x, mean)), denominator)));
  return success();
}

LogicalResult importLRN(NodeImporter &n) {
  // y = x / (bias + alpha/size * sum over a channel window of x^2)^beta. The window sum is
  // an average pool over [N, 1, C, rest] with the window along C, times size.
  Value x = n.input(0);
  ArrayRef<int64_t> shape = n.shapeOf(x);
  if (shape.size() < 3)
    return n.fail("input must have rank >= 3");
  Type t = n.typeOf(x).getElementType();
  int64_t size = n.intAttr("size", 0);
  if (size < 1)
    return n.fail("size must be positive");
  double alpha = n.floatAttr("alpha", 1e-4), beta = n.floatAttr("beta", 0.75),
         bias = n.floatAttr("bias", 1.0);
  Shape original(shape);
  int64_t rest = elementCount(shape.drop_front(2));
  Value squares = n.must(n.binary<MulOp>(x, x));
  Value planes = n.reshape(squares, {shape[0], 1, shape[1], rest});
  int64_t before = (size - 1) / 2, after = size - 1 - before;
  auto &b = n.builder;
  Value window = n.create<PoolOp>(n.tensorType({shape[0], 1, shape[1], rest}, t), planes,
                                  b.getStringAttr("avg"), b.getDenseI64ArrayAttr({size, 1}),
                                  b.getDenseI64ArrayAttr({1, 1}),
                                  b.getDenseI64ArrayAttr({before, 0, after, 0}),
                                  b.getDenseI64ArrayAttr({1, 1}), b.getBoolAttr(true));
  Value sum = n.reshape(window, original);  // average * size = sum; folded into alpha below
  Value scaled = n.must(n.binary<AddOp>(n.must(n.binary<MulOp>(sum, n.scalar(alpha, t))), n.scalar(bias, t)));
  Value denominator = n.must(n.binary<PowOp>(scaled, n.scalar(beta, t)));
  n.setOutput(0, n.must(n.binary<DivOp>(x, denominator)));
  return success();
}

} // namespace

void registerNNOps(OpTable &t) {
  t["LayerNormalization"] = importLayerNorm;
  t["InstanceNormalization"] = importInstanceNorm;
  t["MeanVarianceNormalization"] = importMeanVarianceNorm;
  t["LRN"] = importLRN;
  t["Conv"] = importConv;
  t["ConvTranspose"] = importConvTranspose;
  t["MaxPool"] = [](NodeImporter &n) { return importPool(n, "max"); };
  t["AveragePool"] = [](NodeImporter &n) { return importPool(n, "avg"); };
  t["GlobalAveragePool"] = [](NodeImporter &n) { return importGlobalPool(n, "mean"); };
  t["GlobalMaxPool"] = [](NodeImporter &n) { return importGlobalPool(n, "max"); };
  t["BatchNormalization"] = importBatchNorm;
  t["MaxUnpool"] = importMaxUnpool;
  t["Resize"] = importResize;
  t["Upsample"] = importResize;
}

} // namespace kiln
