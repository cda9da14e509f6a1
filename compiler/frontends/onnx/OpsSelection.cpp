//===- OpsSelection.cpp - outputs whose length depends on the data ---------===//
//
// NonZero, NonMaxSuppression and Unique select elements, so their output length is known only when
// the model runs. On constants they fold here; otherwise they become host ops
// (runtime/src/host_ops.c) whose buffers are planned for the bound, and a kiln.with_extent
// view carries the run's length to the program's outputs table, so the .npy written has
// the real shape. Such a value may only be a model output so far (checked after import).
//
//===----------------------------------------------------------------------===//
#include "compiler/frontends/onnx/NodeImporter.h"

using namespace mlir;

namespace kiln {
namespace {

LogicalResult importNonZero(NodeImporter &n) {
  Value x = n.input(0);
  ArrayRef<int64_t> shape = n.shapeOf(x);
  int64_t rank = int64_t(shape.size()), elements = elementCount(shape);
  if (rank == 0)
    return n.fail("NonZero of a scalar is not supported");
  Type i64 = n.builder.getI64Type();
  if (auto values = n.constantInput(0)) {  // fold: the shape is known now
    std::vector<int64_t> hits;
    for (int64_t i = 0; i < elements; ++i)
      if (values->isInteger ? values->ints[i] != 0 : values->floats[i] != 0)
        hits.push_back(i);
    std::vector<int64_t> indices(rank * hits.size());
    for (size_t h = 0; h < hits.size(); ++h)
      for (int64_t d = rank - 1, rest = hits[h]; d >= 0; --d) {
        indices[d * hits.size() + h] = rest % shape[d];
        rest /= shape[d];
      }
    n.setOutput(0, n.constant({rank, int64_t(hits.size())}, i64, {}, indices));
    return success();
  }
  auto op = NonZeroOp::create(n.builder, n.loc, n.tensorType({rank, elements}, i64),
                              RankedTensorType::get({}, i64), x);
  n.setOutput(0, WithExtentOp::create(n.builder, n.loc, op.getIndices().getType(),
                                      op.getIndices(), op.getCount(),
                                      n.builder.getI64IntegerAttr(1)));
  return success();
}

LogicalResult importNonMaxSuppression(NodeImporter &n) {
  Value boxes = n.input(0), scores = n.input(1);
  ArrayRef<int64_t> bs = n.shapeOf(boxes), ss = n.shapeOf(scores);
  if (bs.size() != 3 || bs[2] != 4 || ss.size() != 3 || ss[0] != bs[0] || ss[2] != bs[1])
    return n.fail("boxes must be [batches, boxes, 4] and scores [batches, classes, boxes]; got " +
                  shapeToString(bs) + " and " + shapeToString(ss));
  Type f32 = n.builder.getF32Type(), i64 = n.builder.getI64Type();
  if (n.typeOf(boxes).getElementType() != f32 || n.typeOf(scores).getElementType() != f32)
    return n.fail("boxes and scores must be float32");
  int64_t batches = bs[0], classes = ss[1], count = bs[1];
  // Absent inputs: no boxes kept (max 0), IoU threshold 0, no score threshold.
  auto scalarInput = [&](int i, Type type, double fallback) -> FailureOr<Value> {
    Value v = n.input(i);
    if (!v)
      return n.constant({1}, type, {fallback}, {int64_t(fallback)});
    if (n.typeOf(v).getElementType() != type || n.typeOf(v).getNumElements() != 1)
      return n.fail("input " + std::to_string(i) + " must be one " +
                    (type == i64 ? std::string("int64") : std::string("float32")));
    return v;
  };
  auto maximum = scalarInput(2, i64, 0), iou = scalarInput(3, f32, 0),
       threshold = scalarInput(4, f32, 0);
  if (failed(maximum) || failed(iou) || failed(threshold))
    return failure();
  // Rows planned: each class keeps at most min(boxes, max_output_boxes_per_class).
  int64_t perClass = count;
  if (auto m = n.constantInput(2); m || !n.input(2))
    perClass = std::clamp<int64_t>(m ? m->ints.at(0) : 0, 0, count);
  int64_t bound = batches * classes * perClass;
  auto op = NonMaxSuppressionOp::create(
      n.builder, n.loc, n.tensorType({bound, 3}, i64), RankedTensorType::get({}, i64),
      n.tensorType({std::max<int64_t>(count, 1)}, i64), boxes, scores, *maximum, *iou,
      *threshold, n.builder.getBoolAttr(bool(n.input(4))),
      n.builder.getBoolAttr(n.intAttr("center_point_box", 0) != 0));
  n.setOutput(0, WithExtentOp::create(n.builder, n.loc, op.getSelected().getType(),
                                      op.getSelected(), op.getCount(),
                                      n.builder.getI64IntegerAttr(0)));
  return success();
}

LogicalResult importUnique(NodeImporter &n) {
  Value x = n.input(0);
  ArrayRef<int64_t> shape = n.shapeOf(x);
  bool flatten = !n.hasAttr("axis");
  int64_t axis = 0;
  if (!flatten) {
    auto a = n.axis(n.intAttr("axis", 0), int64_t(shape.size()));
    if (failed(a))
      return failure();
    axis = *a;
  }
  Shape bound = flatten ? Shape{elementCount(shape)} : Shape(shape);
  int64_t length = bound[axis];
  Type i64 = n.builder.getI64Type();
  auto perSlice = n.tensorType({length}, i64);
  auto op = UniqueOp::create(n.builder, n.loc, n.tensorType(bound, n.typeOf(x).getElementType()),
                             perSlice, perSlice, perSlice, RankedTensorType::get({}, i64),
                             n.tensorType({std::max<int64_t>(4 * length, 1)}, i64), x,
                             n.builder.getBoolAttr(n.intAttr("sorted", 1) != 0),
                             n.builder.getI64IntegerAttr(axis), n.builder.getBoolAttr(flatten));
  auto varying = [&](Value v, int64_t along) -> Value {
    return WithExtentOp::create(n.builder, n.loc, v.getType(), v, op.getCount(),
                                n.builder.getI64IntegerAttr(along));
  };
  n.setOutput(0, varying(op.getUnique(), axis));
  if (n.wantsOutput(1))
    n.setOutput(1, varying(op.getIndices(), 0));
  if (n.wantsOutput(2))
    n.setOutput(2, op.getInverse());
  if (n.wantsOutput(3))
    n.setOutput(3, varying(op.getCounts(), 0));
  return success();
}

/// Det: a pivoting elimination, sequential per matrix, run on the host.
LogicalResult importDet(NodeImporter &n) {
  Value x = n.input(0);
  ArrayRef<int64_t> shape = n.shapeOf(x);
  if (shape.size() < 2 || shape.back() != shape[shape.size() - 2])
    return n.fail("Det takes square matrices [..., n, n]; got " + shapeToString(shape));
  Type f32 = n.builder.getF32Type();
  if (n.typeOf(x).getElementType() != f32)
    return n.fail("Det is supported for float32");
  int64_t size = shape.back();
  auto op = DetOp::create(n.builder, n.loc, n.tensorType(shape.drop_back(2), f32),
                          n.tensorType({std::max<int64_t>(size * size, 1)}, n.builder.getF64Type()), x);
  n.setOutput(0, op.getResult());
  return success();
}

/// TfIdfVectorizer on integer tokens: n-gram counting over a pool known at compile time,
/// sequential lookups, run on the host (strings are out of kiln's scope).
LogicalResult importTfIdfVectorizer(NodeImporter &n) {
  Value x = n.input(0);
  ArrayRef<int64_t> shape = n.shapeOf(x);
  Type element = n.typeOf(x).getElementType();
  if (!element.isInteger(32) && !element.isInteger(64))
    return n.fail("TfIdfVectorizer is supported on int32 and int64 tokens");
  if (shape.empty() || shape.size() > 2)
    return n.fail("input must be [C] or [B, C], got " + shapeToString(shape));
  std::string mode = n.stringAttr("mode", "TF");
  int64_t modeId = mode == "TF" ? 1 : mode == "IDF" ? 2 : mode == "TFIDF" ? 3 : 0;
  if (!modeId)
    return n.fail("unknown mode '" + mode + "'");
  int64_t minGram = n.intAttr("min_gram_length", 1), maxGram = n.intAttr("max_gram_length", 1),
          skips = n.intAttr("max_skip_count", 0);
  std::vector<int64_t> pool = n.intsAttr("pool_int64s"), counts = n.intsAttr("ngram_counts"),
                       indexes = n.intsAttr("ngram_indexes");
  std::vector<float> weights = n.floatsAttr("weights");
  if (n.hasAttr("pool_strings"))
    return n.fail("string pools are not supported (kiln has no string tensors)");
  if (minGram < 1 || maxGram < minGram || skips < 0 || counts.empty() || indexes.empty())
    return n.fail("malformed n-gram attributes");
  // Every n-gram of the pool needs an output index, each index within the output.
  int64_t grams = 0;
  for (size_t i = 0; i < counts.size(); ++i) {
    int64_t end = i + 1 < counts.size() ? counts[i + 1] : int64_t(pool.size());
    if (counts[i] < 0 || end < counts[i] || end > int64_t(pool.size()))
      return n.fail("ngram_counts do not index pool_int64s");
    grams += (end - counts[i]) / int64_t(i + 1);
  }
  int64_t outputSize = *std::max_element(indexes.begin(), indexes.end()) + 1;
  if (int64_t(indexes.size()) < grams || *std::min_element(indexes.begin(), indexes.end()) < 0 ||
      outputSize > (int64_t(1) << 24) || (!weights.empty() && int64_t(weights.size()) < outputSize))
    return n.fail("ngram_indexes or weights do not cover the pool's n-grams");
  std::vector<int64_t> config = {minGram, maxGram, skips, modeId, outputSize,
                                 int64_t(pool.size()), int64_t(counts.size())};
  llvm::append_range(config, pool);
  llvm::append_range(config, counts);
  llvm::append_range(config, indexes);
  Shape out = shape.size() == 2 ? Shape{shape[0], outputSize} : Shape{outputSize};
  SmallVector<double> weightValues(weights.begin(), weights.end());
  n.setOutput(0, TfIdfOp::create(n.builder, n.loc, n.tensorType(out, n.builder.getF32Type()), x,
                                 n.builder.getDenseI64ArrayAttr(config),
                                 n.builder.getDenseF64ArrayAttr(weightValues)));
  return success();
}

} // namespace

void registerSelectionOps(OpTable &t) {
  t["TfIdfVectorizer"] = importTfIdfVectorizer;
  t["Det"] = importDet;
  t["Unique"] = importUnique;
  t["NonZero"] = importNonZero;
  t["NonMaxSuppression"] = importNonMaxSuppression;
}

} // namespace kiln
