//===- OpsTensor.cpp - ONNX shape and data-movement ops -> kiln ------------===//
//
// Shape, Reshape, Flatten, Squeeze/Unsqueeze, Transpose, Concat, Slice, Split, Gather, Pad,
// Expand, Constant and ConstantOfShape. Shapes are static after --input-shape, so Shape
// yields a constant and the arithmetic on it folds as it is built.
//
//===----------------------------------------------------------------------===//
#include "compiler/frontends/onnx/NodeImporter.h"

#include <numeric>

#include <cmath>

using namespace mlir;

namespace kiln {
namespace {

/// Shape and Size read a static shape; a length known only at run time has none yet.
LogicalResult refuseVaryingLength(NodeImporter &n) {
  return n.fail("the length of '" + n.node.input(0) + "' depends on the data; kiln supports "
                "such values only as model outputs so far");
}

LogicalResult importShape(NodeImporter &n) {
  if (n.input(0).getDefiningOp<WithExtentOp>())
    return refuseVaryingLength(n);
  ArrayRef<int64_t> shape = n.shapeOf(n.input(0));
  int64_t rank = shape.size();
  int64_t start = n.intAttr("start", 0), end = n.intAttr("end", rank);
  if (start < 0) start += rank;
  if (end < 0) end += rank;
  start = std::clamp<int64_t>(start, 0, rank);
  end = std::clamp<int64_t>(end, start, rank);
  std::vector<int64_t> dims(shape.begin() + start, shape.begin() + end);
  n.setOutput(0, n.constant({int64_t(dims.size())}, n.builder.getI64Type(), {}, dims));
  return success();
}

LogicalResult importSize(NodeImporter &n) {
  if (n.input(0).getDefiningOp<WithExtentOp>())
    return refuseVaryingLength(n);
  n.setOutput(0, n.constant({}, n.builder.getI64Type(), {},
                            {elementCount(n.shapeOf(n.input(0)))}));
  return success();
}

LogicalResult importConstant(NodeImporter &n) {
  auto *ctx = n.builder.getContext();
  if (const onnx::TensorProto *tensor = n.tensorAttr("value")) {
    std::string error;
    if (tensor->data_location() == onnx::TensorProto::EXTERNAL)
      return n.fail("value has external data, which kiln reads only for initializers");
    auto attr = readTensorProto(ctx, *tensor, ".", error);
    if (failed(attr))
      return n.fail(error);
    n.setOutput(0, ConstantOp::create(n.builder, n.loc,
                                      llvm::cast<RankedTensorType>(attr->getType()), *attr));
    return success();
  }
  if (n.hasAttr("value_float"))
    n.setOutput(0, n.scalar(n.floatAttr("value_float", 0), n.builder.getF32Type()));
  else if (n.hasAttr("value_int"))
    n.setOutput(0, n.constant({}, n.builder.getI64Type(), {}, {n.intAttr("value_int", 0)}));
  else if (n.hasAttr("value_floats")) {
    std::vector<float> f = n.floatsAttr("value_floats");
    n.setOutput(0, n.constant({int64_t(f.size())}, n.builder.getF32Type(),
                              std::vector<double>(f.begin(), f.end())));
  } else if (n.hasAttr("value_ints")) {
    std::vector<int64_t> i = n.intsAttr("value_ints");
    n.setOutput(0, n.constant({int64_t(i.size())}, n.builder.getI64Type(), {}, i));
  } else {
    return n.fail("only value, value_float(s) and value_int(s) constants are supported");
  }
  return success();
}

LogicalResult importConstantOfShape(NodeImporter &n) {
  auto shape = n.constantInts(0, "shape");
  if (failed(shape))
    return failure();
  Type elementType = n.builder.getF32Type();
  double value = 0;
  int64_t intValue = 0;
  if (const onnx::TensorProto *tensor = n.tensorAttr("value")) {
    std::string error;
    if (tensor->data_location() == onnx::TensorProto::EXTERNAL)
      return n.fail("value has external data, which kiln reads only for initializers");
    auto attr = readTensorProto(n.builder.getContext(), *tensor, ".", error);
    if (failed(attr))
      return n.fail(error);
    auto values = readConstant(*attr);
    if (!values || values->floats.size() != 1)
      return n.fail("value must hold one element");
    elementType = llvm::cast<RankedTensorType>(attr->getType()).getElementType();
    value = values->floats[0];
    intValue = values->isInteger ? values->ints[0] : toInt64(value);
  }
  // The shape comes from the model: check it before anything is sized by it (a 1 KB model
  // may ask for 2^62 elements).
  uint64_t count = 1;
  for (int64_t d : *shape) {
    if (d < 0 || (d > 0 && count > uint64_t(INT32_MAX) / uint64_t(d)))
      return n.fail("shape " + shapeToString(*shape) + " is negative or has more than 2^31 - 1 "
                    "elements (the most a kiln kernel can address)");
    count *= uint64_t(d);
  }
  if (count <= 16) {
    n.setOutput(0, n.constant(*shape, elementType, std::vector<double>(count, value),
                              isIntegerElement(elementType)
                                  ? std::vector<int64_t>(count, intValue)
                                  : std::vector<int64_t>{}));
    return success();
  }
  // Larger fills stay one splat value: no memory in proportion to the shape.
  auto type = RankedTensorType::get(*shape, elementType);
  Attribute element = isIntegerElement(elementType)
                          ? Attribute(n.builder.getIntegerAttr(elementType, intValue))
                          : Attribute(n.builder.getFloatAttr(elementType, value));
  if (elementType.isInteger(1))
    element = n.builder.getBoolAttr(intValue != 0);
  n.setOutput(0, ConstantOp::create(n.builder, n.loc, type, DenseElementsAttr::get(type, element)));
  return success();
}

LogicalResult importReshape(NodeImporter &n) {
  Value x = n.input(0);
  auto target = n.constantInts(1, "shape");
  if (failed(target))
    return failure();
  ArrayRef<int64_t> xShape = n.shapeOf(x);
  bool allowZero = n.intAttr("allowzero", 0);
  Shape shape;
  int64_t inferred = -1, known = 1;
  for (size_t i = 0; i < target->size(); ++i) {
    int64_t d = (*target)[i];
    if (d == 0 && !allowZero) {
      if (i >= xShape.size())
        return n.fail("shape entry 0 at axis " + std::to_string(i) + " copies a missing axis");
      d = xShape[i];
    }
    if (d == -1) {
      if (inferred >= 0)
        return n.fail("shape has more than one -1");
      inferred = i;
      d = 1;
    } else if (d < 0) {
      return n.fail("shape entry " + std::to_string(d) + " is invalid");
    }
    shape.push_back(d);
    known *= d;
  }
  int64_t total = elementCount(xShape);
  if (inferred >= 0) {
    if (known == 0 || total % known != 0)
      return n.fail("cannot infer -1 reshaping " + shapeToString(xShape) + " to " +
                    shapeToString(*target));
    shape[inferred] = total / known;
  }
  if (elementCount(shape) != total)
    return n.fail("cannot reshape " + shapeToString(xShape) + " to " + shapeToString(shape));
  n.setOutput(0, n.reshape(x, shape));
  return success();
}

LogicalResult importFlatten(NodeImporter &n) {
  Value x = n.input(0);
  ArrayRef<int64_t> xShape = n.shapeOf(x);
  int64_t rank = xShape.size();
  int64_t axis = n.intAttr("axis", 1);
  if (axis < 0)
    axis += rank;
  if (axis < 0 || axis > rank)
    return n.fail("axis out of range");
  n.setOutput(0, n.reshape(x, {elementCount(xShape.take_front(axis)),
                               elementCount(xShape.drop_front(axis))}));
  return success();
}

FailureOr<std::vector<int64_t>> squeezeAxes(NodeImporter &n, int64_t rank) {
  std::vector<int64_t> axes;
  if (n.input(1)) {
    auto constant = n.constantInts(1, "axes");
    if (failed(constant))
      return failure();
    axes = *constant;
  } else {
    axes = n.intsAttr("axes");
  }
  if (failed(n.normalizeAxes(axes, rank)))
    return failure();
  std::sort(axes.begin(), axes.end());
  return axes;
}

LogicalResult importSqueeze(NodeImporter &n) {
  Value x = n.input(0);
  ArrayRef<int64_t> xShape = n.shapeOf(x);
  auto axes = squeezeAxes(n, xShape.size());
  if (failed(axes))
    return failure();
  Shape shape;
  for (size_t i = 0; i < xShape.size(); ++i) {
    bool listed = std::find(axes->begin(), axes->end(), int64_t(i)) != axes->end();
    if (listed && xShape[i] != 1)
      return n.fail("cannot squeeze axis " + std::to_string(i) + " of size " +
                    std::to_string(xShape[i]));
    if (listed || (axes->empty() && xShape[i] == 1))
      continue;
    shape.push_back(xShape[i]);
  }
  n.setOutput(0, n.reshape(x, shape));
  return success();
}

LogicalResult importUnsqueeze(NodeImporter &n) {
  Value x = n.input(0);
  ArrayRef<int64_t> xShape = n.shapeOf(x);
  int64_t rank = xShape.size();
  std::vector<int64_t> axes;
  if (n.input(1)) {
    auto constant = n.constantInts(1, "axes");
    if (failed(constant))
      return failure();
    axes = *constant;
  } else {
    axes = n.intsAttr("axes");
  }
  int64_t outRank = rank + axes.size();
  if (failed(n.normalizeAxes(axes, outRank)))
    return failure();
  Shape shape;
  size_t next = 0;
  for (int64_t i = 0; i < outRank; ++i) {
    if (std::find(axes.begin(), axes.end(), i) != axes.end())
      shape.push_back(1);
    else if (next < xShape.size())
      shape.push_back(xShape[next++]);
    else
      return n.fail("axes repeat or leave too few dimensions");
  }
  n.setOutput(0, n.reshape(x, shape));
  return success();
}

LogicalResult importTranspose(NodeImporter &n) {
  Value x = n.input(0);
  int64_t rank = n.shapeOf(x).size();
  std::vector<int64_t> perm = n.intsAttr("perm");
  if (perm.empty())
    for (int64_t i = rank - 1; i >= 0; --i)
      perm.push_back(i);
  std::vector<bool> seen(rank, false);
  if (int64_t(perm.size()) != rank)
    return n.fail("perm has " + std::to_string(perm.size()) + " entries for rank " +
                  std::to_string(rank));
  for (int64_t &p : perm) {
    if (p < 0)
      p += rank;
    if (p < 0 || p >= rank || seen[p])
      return n.fail("perm is not a permutation");
    seen[p] = true;
  }
  n.setOutput(0, n.transpose(x, perm));
  return success();
}

LogicalResult importConcat(NodeImporter &n) {
  SmallVector<Value> inputs;
  for (int i = 0; i < n.inputCount(); ++i)
    if (Value v = n.input(i))
      inputs.push_back(v);
  if (inputs.empty())
    return n.fail("no inputs");
  ArrayRef<int64_t> first = n.shapeOf(inputs[0]);
  auto axis = n.axis(n.intAttr("axis", 0), first.size());
  if (failed(axis))
    return failure();
  Shape shape(first.begin(), first.end());
  shape[*axis] = 0;
  SmallVector<Value> nonEmpty;
  for (Value v : inputs) {
    ArrayRef<int64_t> s = n.shapeOf(v);
    if (s.size() != first.size())
      return n.fail("inputs differ in rank");
    if (n.typeOf(v).getElementType() != n.typeOf(inputs[0]).getElementType())
      return n.fail("inputs differ in element type");
    for (size_t i = 0; i < s.size(); ++i)
      if (int64_t(i) != *axis && s[i] != first[i])
        return n.fail("input shapes " + shapeToString(first) + " and " + shapeToString(s) +
                      " differ outside axis " + std::to_string(*axis));
    shape[*axis] += s[*axis];
    if (s[*axis] != 0)
      nonEmpty.push_back(v);
  }
  if (nonEmpty.empty())
    nonEmpty.push_back(inputs[0]);
  n.setOutput(0, n.create<ConcatOp>(n.tensorType(shape, n.typeOf(inputs[0]).getElementType()),
                                    nonEmpty, n.builder.getI64IntegerAttr(*axis)));
  return success();
}

/// Builds kiln.slice from per-axis (start, size, step).
Value buildSlice(NodeImporter &n, Value x, ArrayRef<int64_t> starts, ArrayRef<int64_t> sizes,
                 ArrayRef<int64_t> steps) {
  SmallVector<int64_t> safeStarts(starts);
  for (size_t i = 0; i < sizes.size(); ++i)
    if (sizes[i] == 0)
      safeStarts[i] = 0;
  return n.create<SliceOp>(n.tensorType(sizes, n.typeOf(x).getElementType()), x,
                           n.builder.getDenseI64ArrayAttr(safeStarts),
                           n.builder.getDenseI64ArrayAttr(steps));
}

LogicalResult importSlice(NodeImporter &n) {
  Value x = n.input(0);
  ArrayRef<int64_t> xShape = n.shapeOf(x);
  int64_t rank = xShape.size();
  FailureOr<std::vector<int64_t>> starts = std::vector<int64_t>(),
                                  ends = std::vector<int64_t>();
  std::vector<int64_t> axes, steps;
  if (n.opset < 10) {
    starts = n.intsAttr("starts");
    ends = n.intsAttr("ends");
    axes = n.intsAttr("axes");
  } else {
    starts = n.constantInts(1, "starts");
    ends = n.constantInts(2, "ends");
  }
  if (failed(starts) || failed(ends))
    return failure();
  if (n.opset < 10) {
    // axes came from the attribute (or default below)
  } else if (n.input(3)) {
    auto a = n.constantInts(3, "axes");
    if (failed(a))
      return failure();
    axes = *a;
  }
  if (axes.empty())
    for (size_t i = 0; i < starts->size(); ++i)
      axes.push_back(i);
  if (n.opset >= 10 && n.input(4)) {
    auto s = n.constantInts(4, "steps");
    if (failed(s))
      return failure();
    steps = *s;
  } else {
    steps.assign(starts->size(), 1);
  }
  if (ends->size() != starts->size() || axes.size() != starts->size() ||
      steps.size() != starts->size())
    return n.fail("starts, ends, axes and steps differ in length");
  SmallVector<int64_t> outStarts(rank, 0), outSizes(xShape), outSteps(rank, 1);
  for (size_t k = 0; k < axes.size(); ++k) {
    auto axis = n.axis(axes[k], rank);
    if (failed(axis))
      return failure();
    int64_t dim = xShape[*axis], step = steps[k];
    if (step == 0)
      return n.fail("step is zero");
    int64_t start = (*starts)[k], end = (*ends)[k];
    if (start < 0) start += dim;
    if (end < 0) end += dim;
    // A step past the axis takes one element, as a step of dim + 1 does (no overflow).
    step = std::clamp<int64_t>(step, -(dim + 1), dim + 1);
    int64_t size;
    if (dim == 0) {
      start = 0;
      size = 0;
    } else if (step > 0) {
      start = std::clamp<int64_t>(start, 0, dim);
      end = std::clamp<int64_t>(end, 0, dim);
      size = end > start ? (end - start + step - 1) / step : 0;
    } else {
      start = std::clamp<int64_t>(start, 0, dim - 1);
      end = std::clamp<int64_t>(end, -1, dim - 1);
      size = start > end ? (start - end - step - 1) / -step : 0;
    }
    outStarts[*axis] = start;
    outSizes[*axis] = size;
    outSteps[*axis] = step;
  }
  n.setOutput(0, buildSlice(n, x, outStarts, outSizes, outSteps));
  return success();
}

LogicalResult importSplit(NodeImporter &n) {
  Value x = n.input(0);
  ArrayRef<int64_t> xShape = n.shapeOf(x);
  auto axis = n.axis(n.intAttr("axis", 0), xShape.size());
  if (failed(axis))
    return failure();
  std::vector<int64_t> split;
  if (n.input(1)) {
    auto s = n.constantInts(1, "split");
    if (failed(s))
      return failure();
    split = *s;
  } else if (n.hasAttr("split")) {
    split = n.intsAttr("split");
  } else {
    int64_t parts = n.outputCount(), dim = xShape[*axis];
    int64_t chunk = (dim + parts - 1) / parts;
    for (int64_t i = 0; i < parts; ++i)
      split.push_back(std::max<int64_t>(0, std::min(chunk, dim - i * chunk)));
  }
  if (int64_t(split.size()) != n.outputCount())
    return n.fail("split has " + std::to_string(split.size()) + " parts for " +
                  std::to_string(n.outputCount()) + " outputs");
  // Checked before any slice is built: a constant input folds the slices right away.
  int64_t total = 0;
  for (int64_t part : split)
    if (part < 0 || (total += part) > xShape[*axis])
      return n.fail("split sizes must be non-negative and add up to " +
                    std::to_string(xShape[*axis]));
  int64_t offset = 0;
  for (size_t i = 0; i < split.size(); ++i) {
    SmallVector<int64_t> starts(xShape.size(), 0), sizes(xShape), steps(xShape.size(), 1);
    starts[*axis] = offset;
    sizes[*axis] = split[i];
    offset += split[i];
    n.setOutput(i, buildSlice(n, x, starts, sizes, steps));
  }
  if (offset != xShape[*axis])
    return n.fail("split sizes add up to " + std::to_string(offset) + ", axis has " +
                  std::to_string(xShape[*axis]));
  return success();
}

LogicalResult importGather(NodeImporter &n) {
  Value x = n.input(0), indices = n.input(1);
  ArrayRef<int64_t> xShape = n.shapeOf(x);
  auto axis = n.axis(n.intAttr("axis", 0), xShape.size());
  if (failed(axis))
    return failure();
  if (!isIntegerElement(n.typeOf(indices).getElementType()))
    return n.fail("indices must be integers");
  if (auto constant = n.constantInput(1))
    for (int64_t i : constant->ints)
      if (i < -xShape[*axis] || i >= xShape[*axis])
        return n.fail("index " + std::to_string(i) + " is out of range for axis of size " +
                      std::to_string(xShape[*axis]));
  Shape shape(xShape.begin(), xShape.begin() + *axis);
  for (int64_t d : n.shapeOf(indices))
    shape.push_back(d);
  shape.append(xShape.begin() + *axis + 1, xShape.end());
  n.setOutput(0, n.create<GatherOp>(n.tensorType(shape, n.typeOf(x).getElementType()), x,
                                    indices, n.builder.getI64IntegerAttr(*axis)));
  return success();
}

LogicalResult importPad(NodeImporter &n) {
  Value x = n.input(0);
  int64_t rank = n.shapeOf(x).size();
  FailureOr<std::vector<int64_t>> pads =
      n.opset < 11 ? FailureOr<std::vector<int64_t>>(n.intsAttr("pads")) : n.constantInts(1, "pads");
  if (failed(pads))
    return failure();
  std::vector<int64_t> full(2 * rank, 0);
  if (n.opset >= 11 && n.input(3)) {
    auto axes = n.constantInts(3, "axes");
    if (failed(axes))
      return failure();
    if (pads->size() != 2 * axes->size())
      return n.fail("pads must hold two entries per axis");
    for (size_t k = 0; k < axes->size(); ++k) {
      auto a = n.axis((*axes)[k], rank);
      if (failed(a))
        return failure();
      full[*a] = (*pads)[k];
      full[rank + *a] = (*pads)[axes->size() + k];
    }
  } else {
    if (int64_t(pads->size()) != 2 * rank)
      return n.fail("pads must hold " + std::to_string(2 * rank) + " entries");
    full = *pads;
  }
  for (int64_t p : full)
    if (p < 0)
      return n.fail("negative pads are not supported");
  double value = n.opset < 11 ? n.floatAttr("value", 0.0) : 0.0;
  if (n.opset >= 11 && n.input(2)) {
    auto constant = n.constantInput(2);
    if (!constant)
      return n.notConstant(2, "constant_value");
    if (constant->floats.size() != 1)
      return n.fail("constant_value must be a scalar");
    value = constant->floats[0];
  }
  std::string mode = n.stringAttr("mode", "constant");
  if (mode != "constant" && mode != "reflect" && mode != "edge" && mode != "wrap")
    return n.fail("unsupported mode '" + mode + "'");
  if (failed(n.checkRange(full, -INT32_MAX, INT32_MAX, "pad")))
    return failure();
  Shape shape;
  for (int64_t i = 0; i < rank; ++i)
    shape.push_back(n.shapeOf(x)[i] + full[i] + full[rank + i]);
  n.setOutput(0, n.create<PadOp>(n.tensorType(shape, n.typeOf(x).getElementType()), x,
                                 n.builder.getStringAttr(mode),
                                 n.builder.getDenseI64ArrayAttr(full),
                                 n.builder.getF64FloatAttr(value)));
  return success();
}

LogicalResult importExpand(NodeImporter &n) {
  Value x = n.input(0);
  auto target = n.constantInts(1, "shape");
  if (failed(target))
    return failure();
  auto shape = broadcastShapes(n.shapeOf(x), *target);
  if (!shape)
    return n.fail("cannot expand " + shapeToString(n.shapeOf(x)) + " to " +
                  shapeToString(*target));
  if (ArrayRef<int64_t>(*shape) == n.shapeOf(x)) {
    n.setOutput(0, x);
    return success();
  }
  n.setOutput(0, n.create<ExpandOp>(n.tensorType(*shape, n.typeOf(x).getElementType()), x));
  return success();
}

LogicalResult importTile(NodeImporter &n) {
  // Tile = reshape to interleave unit axes, expand them to the repeats, reshape back:
  // [a, b] x [r, s] -> [1, a, 1, b] -> [r, a, s, b] -> [r*a, s*b].
  Value x = n.input(0);
  ArrayRef<int64_t> shape = n.shapeOf(x);
  auto repeats = n.constantInts(1, "repeats");
  if (failed(repeats))
    return failure();
  if (repeats->size() != shape.size())
    return n.fail("repeats has " + std::to_string(repeats->size()) + " entries for rank " +
                  std::to_string(shape.size()));
  Shape spread, expanded, result;
  for (size_t i = 0; i < shape.size(); ++i) {
    if ((*repeats)[i] < 0 || (*repeats)[i] > INT32_MAX)
      return n.fail("repeats must be in [0, 2^31 - 1]");
    spread.append({1, shape[i]});
    expanded.append({(*repeats)[i], shape[i]});
    result.push_back((*repeats)[i] * shape[i]);
  }
  Value wide = n.reshape(x, spread);
  if (ArrayRef<int64_t>(expanded) != ArrayRef<int64_t>(spread))
    wide = n.create<ExpandOp>(n.tensorType(expanded, n.typeOf(x).getElementType()), wide);
  n.setOutput(0, n.reshape(wide, result));
  return success();
}

LogicalResult importRange(NodeImporter &n) {
  auto start = n.constantInput(0), limit = n.constantInput(1), delta = n.constantInput(2);
  for (int i = 0; i < 3; ++i)
    if (!n.constantInput(i))
      return n.notConstant(i, i == 0 ? "start" : i == 1 ? "limit" : "delta");
  Type t = n.typeOf(n.input(0)).getElementType();
  if (n.typeOf(n.input(1)).getElementType() != t || n.typeOf(n.input(2)).getElementType() != t)
    return n.fail("start, limit and delta must have one element type");
  if (start->floats.size() != 1 || limit->floats.size() != 1 || delta->floats.size() != 1)
    return n.fail("start, limit and delta must be scalars");
  double s = start->floats[0], l = limit->floats[0], d = delta->floats[0];
  if (d == 0 || !std::isfinite(s) || !std::isfinite(l) || !std::isfinite(d))
    return n.fail("delta is zero or a bound is not finite");
  double steps = std::ceil((l - s) / d);
  if (steps > double(kMaxFoldedElements))
    return n.fail("the range has " + std::to_string(toInt64(steps)) +
                  " elements; kiln computes ranges at compile time, up to " +
                  std::to_string(kMaxFoldedElements));
  int64_t count = std::max<int64_t>(0, toInt64(steps));
  std::vector<double> floats;
  std::vector<int64_t> ints;
  for (int64_t i = 0; i < count; ++i) {
    if (start->isInteger) {
      ints.push_back(int64_t(uint64_t(start->ints[0]) + uint64_t(i) * uint64_t(delta->ints[0])));
      floats.push_back(double(ints.back()));
    } else {
      floats.push_back(double(float(s + double(i) * d)));
    }
  }
  n.setOutput(0, n.constant({count}, t, floats, ints));
  return success();
}

LogicalResult importTrilu(NodeImporter &n) {
  Value x = n.input(0);
  ArrayRef<int64_t> shape = n.shapeOf(x);
  if (shape.size() < 2)
    return n.fail("input must have rank >= 2");
  int64_t k = 0;
  if (n.input(1)) {
    auto values = n.constantInts(1, "k");
    if (failed(values))
      return failure();
    if (values->size() != 1)
      return n.fail("k must be one value");
    k = std::clamp<int64_t>((*values)[0], -INT32_MAX, INT32_MAX);
  }
  bool upper = n.intAttr("upper", 1);
  int64_t rows = shape[shape.size() - 2], columns = shape.back();
  // The mask is a constant: [rows, columns] must be addressable on its own (a batch of 0
  // makes the tensor empty, not the mask small).
  (void)n.tensorType({rows, columns}, n.builder.getI1Type());
  std::vector<double> mask(rows * columns);
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < columns; ++j)
      mask[i * columns + j] = upper ? (j - i >= k) : (j - i <= k);
  Value keep = n.constant({rows, columns}, n.builder.getI1Type(), mask);
  Type t = n.typeOf(x).getElementType();
  n.setOutput(0, n.must(n.select(keep, x, n.constant({}, t, {0.0}, {0}))));
  return success();
}

LogicalResult importEyeLike(NodeImporter &n) {
  Value x = n.input(0);
  ArrayRef<int64_t> shape = n.shapeOf(x);
  if (shape.size() != 2)
    return n.fail("input must be 2-D");
  Type t = n.hasAttr("dtype") ? onnxElementType(n.builder.getContext(), n.intAttr("dtype", 1))
                              : n.typeOf(x).getElementType();
  if (!t)
    return n.fail("unsupported dtype");
  int64_t k = n.intAttr("k", 0);
  if (elementCount(shape) > kMaxFoldedElements)
    return n.fail("an identity of " + std::to_string(elementCount(shape)) +
                  " elements; kiln builds it at compile time, up to " +
                  std::to_string(kMaxFoldedElements));
  std::vector<double> values(shape[0] * shape[1]);
  for (int64_t i = 0; i < shape[0]; ++i)
    for (int64_t j = 0; j < shape[1]; ++j)
      values[i * shape[1] + j] = j - i == k ? 1.0 : 0.0;
  n.setOutput(0, n.constant(shape, t, values));
  return success();
}

LogicalResult importOneHot(NodeImporter &n) {
  Value indices = n.input(0), values = n.input(2);
  auto depthValues = n.constantInput(1);
  if (!depthValues)
    return n.notConstant(1, "depth");
  if (depthValues->floats.size() != 1 || !(depthValues->floats[0] >= 1) ||
      depthValues->floats[0] > double(kMaxFoldedElements))
    return n.fail("depth must be one value in [1, " + std::to_string(kMaxFoldedElements) + "]");
  if (n.shapeOf(values).size() != 1 || n.shapeOf(values)[0] != 2)
    return n.fail("values must have shape [2] (off, on)");
  int64_t depth = int64_t(depthValues->floats[0]);
  ArrayRef<int64_t> shape = n.shapeOf(indices);
  int64_t rank = shape.size() + 1;
  auto axis = n.axis(n.intAttr("axis", -1), rank);
  if (failed(axis))
    return failure();
  Type indexType = n.typeOf(indices).getElementType();
  // Negative indices count from the end.
  Value zero = n.constant({}, indexType, {0.0}, {0});
  Value wrapped = n.must(n.select(n.must(n.compare("lt", indices, zero)),
                            n.must(n.binary<AddOp>(indices, n.constant({}, indexType, {double(depth)}, {depth}))),
                            indices));
  Shape expandedShape(shape);
  expandedShape.insert(expandedShape.begin() + *axis, 1);
  Value column = n.reshape(wrapped, expandedShape);
  Shape iotaShape(rank, 1);
  iotaShape[*axis] = depth;
  std::vector<double> iota(depth);
  for (int64_t i = 0; i < depth; ++i) iota[i] = double(i);
  Value hot = n.must(n.compare("eq", column, n.constant(iotaShape, indexType, iota)));
  Type valueType = n.typeOf(values).getElementType();
  auto sliceAt = [&](int64_t i) {
    return n.create<SliceOp>(n.tensorType({1}, valueType), values,
                             n.builder.getDenseI64ArrayAttr({i}), n.builder.getDenseI64ArrayAttr({1}));
  };
  n.setOutput(0, n.must(n.select(hot, sliceAt(1), sliceAt(0))));
  return success();
}

LogicalResult importDepthToSpace(NodeImporter &n) {
  Value x = n.input(0);
  ArrayRef<int64_t> s = n.shapeOf(x);
  if (s.size() != 4)
    return n.fail("input must be 4-D");
  int64_t b = n.intAttr("blocksize", 0);
  if (failed(n.checkRange({b}, 1, 4096, "blocksize")))
    return failure();
  if (s[1] % (b * b))
    return n.fail("blocksize must divide the channels as blocksize^2");
  int64_t c = s[1] / (b * b);
  bool crd = n.stringAttr("mode", "DCR") == "CRD";
  Value y = crd ? n.reshape(x, {s[0], c, b, b, s[2], s[3]}) : n.reshape(x, {s[0], b, b, c, s[2], s[3]});
  y = crd ? n.transpose(y, {0, 1, 4, 2, 5, 3}) : n.transpose(y, {0, 3, 4, 1, 5, 2});
  n.setOutput(0, n.reshape(y, {s[0], c, s[2] * b, s[3] * b}));
  return success();
}

LogicalResult importSpaceToDepth(NodeImporter &n) {
  Value x = n.input(0);
  ArrayRef<int64_t> s = n.shapeOf(x);
  if (s.size() != 4)
    return n.fail("input must be 4-D");
  int64_t b = n.intAttr("blocksize", 0);
  if (failed(n.checkRange({b}, 1, 4096, "blocksize")))
    return failure();
  if (s[2] % b || s[3] % b)
    return n.fail("blocksize must divide height and width");
  Value y = n.reshape(x, {s[0], s[1], s[2] / b, b, s[3] / b, b});
  y = n.transpose(y, {0, 3, 5, 1, 2, 4});
  n.setOutput(0, n.reshape(y, {s[0], s[1] * b * b, s[2] / b, s[3] / b}));
  return success();
}

LogicalResult importGatherElements(NodeImporter &n) {
  Value x = n.input(0), indices = n.input(1);
  auto axis = n.axis(n.intAttr("axis", 0), n.shapeOf(x).size());
  if (failed(axis))
    return failure();
  if (!isIntegerElement(n.typeOf(indices).getElementType()) ||
      n.shapeOf(indices).size() != n.shapeOf(x).size())
    return n.fail("indices must be integers of the data's rank");
  n.setOutput(0, n.create<GatherElementsOp>(
                     n.tensorType(n.shapeOf(indices), n.typeOf(x).getElementType()), x, indices,
                     n.builder.getI64IntegerAttr(*axis)));
  return success();
}

/// ReverseSequence: out[t, b] = x[lens[b] - 1 - t, b] for t < lens[b], else x[t, b]; a
/// GatherElements along time with indices computed from the lengths (a model input).
LogicalResult importReverseSequence(NodeImporter &n) {
  Value x = n.input(0), lengths = n.input(1);
  int64_t rank = int64_t(n.shapeOf(x).size());
  auto time = n.axis(n.intAttr("time_axis", 0), rank);
  auto batch = n.axis(n.intAttr("batch_axis", 1), rank);
  if (failed(time) || failed(batch))
    return failure();
  if (rank < 2 || *time + *batch != 1)
    return n.fail("time_axis and batch_axis must be 0 and 1 (in either order)");
  int64_t steps = n.shapeOf(x)[*time], batches = n.shapeOf(x)[*batch];
  Type i64 = n.builder.getI64Type();
  if (n.typeOf(lengths).getElementType() != i64 || n.shapeOf(lengths) != ArrayRef<int64_t>{batches})
    return n.fail("sequence_lens must be int64 of shape [" + std::to_string(batches) + "]");
  Shape timeShape(rank, 1), batchShape(rank, 1);
  timeShape[*time] = steps;
  batchShape[*batch] = batches;
  std::vector<int64_t> positions(steps);
  std::iota(positions.begin(), positions.end(), 0);
  Value t = n.constant(timeShape, i64, {}, positions);
  Value lens = n.reshape(lengths, batchShape);
  Value last = n.must(n.binary<SubOp>(lens, n.scalar(1, i64)));
  Value reversed = n.must(n.binary<SubOp>(last, t));
  Value inside = n.must(n.compare("lt", t, lens));
  Value index = n.must(n.select(inside, reversed, t));
  // Lengths past the sequence are clamped by the gather (as bounds checks on any index).
  Value full = n.create<ExpandOp>(n.tensorType(n.shapeOf(x), i64), index);
  n.setOutput(0, n.create<GatherElementsOp>(n.typeOf(x), x, full,
                                            n.builder.getI64IntegerAttr(*time)));
  return success();
}

LogicalResult importGatherND(NodeImporter &n) {
  Value x = n.input(0), indices = n.input(1);
  ArrayRef<int64_t> xs = n.shapeOf(x), is = n.shapeOf(indices);
  int64_t batch = n.intAttr("batch_dims", 0);
  if (!isIntegerElement(n.typeOf(indices).getElementType()))
    return n.fail("indices must be integers");
  if (is.empty() || batch < 0 || batch >= int64_t(is.size()) || batch > int64_t(xs.size()))
    return n.fail("batch_dims " + std::to_string(batch) + " does not fit data " +
                  shapeToString(xs) + " and indices " + shapeToString(is));
  for (int64_t i = 0; i < batch; ++i)
    if (xs[i] != is[i])
      return n.fail("data and indices differ in batch dimension " + std::to_string(i));
  if (is.back() < 1 || is.back() > int64_t(xs.size()) - batch)
    return n.fail("indices' last dimension is out of range");
  Shape shape(is.begin(), is.end() - 1);
  shape.append(xs.begin() + batch + is.back(), xs.end());
  n.setOutput(0, n.create<GatherNdOp>(n.tensorType(shape, n.typeOf(x).getElementType()), x,
                                      indices, n.builder.getI64IntegerAttr(batch)));
  return success();
}

/// The scatter reduction attribute; kiln's scatter ops take none, add or mul.
FailureOr<std::string> scatterReduction(NodeImporter &n) {
  std::string reduction = n.stringAttr("reduction", "none");
  if (reduction != "none" && reduction != "add" && reduction != "mul") {
    return n.fail("reduction '" + reduction + "' is not supported");
  }
  return reduction;
}

LogicalResult importScatterElements(NodeImporter &n) {
  Value x = n.input(0);
  auto axis = n.axis(n.intAttr("axis", 0), n.shapeOf(x).size());
  if (failed(axis))
    return failure();
  auto reduction = scatterReduction(n);
  if (failed(reduction))
    return failure();
  Value indices = n.input(1), updates = n.input(2);
  if (!isIntegerElement(n.typeOf(indices).getElementType()) ||
      n.shapeOf(indices).size() != n.shapeOf(x).size() ||
      n.shapeOf(updates) != n.shapeOf(indices) ||
      n.typeOf(updates).getElementType() != n.typeOf(x).getElementType())
    return n.fail("indices must be integers of the data's rank, updates of the indices' shape "
                  "and the data's element type");
  n.setOutput(0, n.create<ScatterElementsOp>(x.getType(), x, n.input(1), n.input(2),
                                             n.builder.getI64IntegerAttr(*axis),
                                             n.builder.getStringAttr(*reduction)));
  return success();
}

LogicalResult importScatterND(NodeImporter &n) {
  Value x = n.input(0);
  auto reduction = scatterReduction(n);
  if (failed(reduction))
    return failure();
  Value indices = n.input(1), updates = n.input(2);
  ArrayRef<int64_t> xs = n.shapeOf(x), is = n.shapeOf(indices);
  if (!isIntegerElement(n.typeOf(indices).getElementType()) || is.empty() || is.back() < 1 ||
      is.back() > int64_t(xs.size()))
    return n.fail("indices must be integers whose last dimension is in [1, rank of the data]");
  Shape want(is.begin(), is.end() - 1);
  want.append(xs.begin() + is.back(), xs.end());
  if (n.shapeOf(updates) != ArrayRef<int64_t>(want) ||
      n.typeOf(updates).getElementType() != n.typeOf(x).getElementType())
    return n.fail("updates must have shape " + shapeToString(want) +
                  " and the data's element type");
  n.setOutput(0, n.create<ScatterNdOp>(x.getType(), x, n.input(1), n.input(2),
                                       n.builder.getStringAttr(*reduction)));
  return success();
}

} // namespace

void registerTensorOps(OpTable &t) {
  t["Tile"] = importTile;
  t["Range"] = importRange;
  t["Trilu"] = importTrilu;
  t["EyeLike"] = importEyeLike;
  t["OneHot"] = importOneHot;
  t["DepthToSpace"] = importDepthToSpace;
  t["SpaceToDepth"] = importSpaceToDepth;
  t["GatherElements"] = importGatherElements;
  t["ReverseSequence"] = importReverseSequence;
  t["GatherND"] = importGatherND;
  t["ScatterElements"] = importScatterElements;
  t["Scatter"] = importScatterElements;
  t["ScatterND"] = importScatterND;
  t["Shape"] = importShape;
  t["Size"] = importSize;
  t["Constant"] = importConstant;
  t["ConstantOfShape"] = importConstantOfShape;
  t["Reshape"] = importReshape;
  t["Flatten"] = importFlatten;
  t["Squeeze"] = importSqueeze;
  t["Unsqueeze"] = importUnsqueeze;
  t["Transpose"] = importTranspose;
  t["Concat"] = importConcat;
  t["Slice"] = importSlice;
  t["Split"] = importSplit;
  t["Gather"] = importGather;
  t["Pad"] = importPad;
  t["Expand"] = importExpand;
}

} // namespace kiln
