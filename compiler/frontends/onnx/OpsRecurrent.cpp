//===- OpsRecurrent.cpp - ONNX RNN, GRU and LSTM, unrolled over time --------===//
//
// Sequence lengths are static, so recurrent layers unroll into one matmul-and-activation
// step per time step and direction, built from kiln's canonical ops (kernel formation then
// fuses each step's gate arithmetic). Supported: forward, reverse and bidirectional; bias,
// initial states, peepholes (LSTM), linear_before_reset (GRU), clip, layout 0 and 1,
// sequence_lens equal to the sequence length; the default activations.
//
//===----------------------------------------------------------------------===//
#include "compiler/frontends/onnx/NodeImporter.h"

using namespace mlir;

namespace kiln {
namespace {

enum class Cell { Rnn, Gru, Lstm };

struct Recurrent {
  NodeImporter &n;
  Type t;
  Value slice(Value x, int64_t axis, int64_t start, int64_t size) {
    Shape shape(n.shapeOf(x));
    shape[axis] = size;
    SmallVector<int64_t> starts(shape.size(), 0), steps(shape.size(), 1);
    starts[axis] = start;
    return n.create<SliceOp>(n.tensorType(shape, t), x, n.builder.getDenseI64ArrayAttr(starts),
                             n.builder.getDenseI64ArrayAttr(steps));
  }
  /// x [B, I] times w [G, I] transposed -> [B, G].
  Value linear(Value x, Value w) {
    Value wt = n.transpose(w, {1, 0});
    Shape shape{n.shapeOf(x)[0], n.shapeOf(wt)[1]};
    return n.create<MatmulOp>(n.tensorType(shape, t), x, wt);
  }
  Value add(Value a, Value b) { return n.must(n.binary<AddOp>(a, b)); }
  Value mul(Value a, Value b) { return n.must(n.binary<MulOp>(a, b)); }
  Value sigmoid(Value x) { return n.unary<SigmoidOp>(x); }
  Value tanh(Value x) { return n.unary<TanhOp>(x); }
  Value clip(Value x, double limit) {
    if (limit <= 0)
      return x;
    return n.create<ClipOp>(x.getType(), x, n.builder.getF64FloatAttr(-limit),
                            n.builder.getF64FloatAttr(limit));
  }
};

LogicalResult importRecurrent(NodeImporter &n, Cell cell) {
  Value x = n.input(0), w = n.input(1), r = n.input(2), b = n.input(3), lens = n.input(4),
        h0 = n.input(5), c0 = cell == Cell::Lstm ? n.input(6) : Value(),
        peephole = cell == Cell::Lstm ? n.input(7) : Value();
  Type t = n.typeOf(x).getElementType();
  Recurrent rc{n, t};
  for (const char *attr : {"activations", "activation_alpha", "activation_beta"})
    if (n.hasAttr(attr))
      return n.fail(std::string("custom ") + attr + " are not supported (defaults only)");
  if (n.intAttr("input_forget", 0))
    return n.fail("input_forget is not supported");
  int64_t layout = n.intAttr("layout", 0);
  std::string direction = n.stringAttr("direction", "forward");
  if (direction != "forward" && direction != "reverse" && direction != "bidirectional")
    return n.fail("direction '" + direction + "' is not forward, reverse or bidirectional");
  int64_t directions = direction == "bidirectional" ? 2 : 1;
  int gates = cell == Cell::Lstm ? 4 : cell == Cell::Gru ? 3 : 1;
  // Every operand's shape is checked before any is indexed: a rank-2 X read as rank 3
  // used to print whatever lay past its shape as a dimension.
  auto expectRank = [&](Value v, const char *what, size_t rank) {
    if (v && n.shapeOf(v).size() != rank)
      return n.fail(std::string(what) + " has shape " + shapeToString(n.shapeOf(v)) +
                    ", expected rank " + std::to_string(rank));
    return success();
  };
  if (!x || !w || !r)
    return n.fail("X, W and R are required");
  if (failed(expectRank(x, "X", 3)) || failed(expectRank(w, "W", 3)) ||
      failed(expectRank(r, "R", 3)) || failed(expectRank(b, "B", 2)) ||
      failed(expectRank(h0, "initial_h", 3)) || failed(expectRank(c0, "initial_c", 3)) ||
      failed(expectRank(peephole, "P", 2)) || failed(expectRank(lens, "sequence_lens", 1)))
    return failure();
  if (layout)
    x = n.transpose(x, {1, 0, 2});
  ArrayRef<int64_t> xs = n.shapeOf(x);
  int64_t steps = xs[0], batch = xs[1], inputSize = xs[2];
  // R [directions, gates * hidden, hidden] gives the hidden size; the attribute must agree
  // (it is not trusted in arithmetic before that).
  int64_t hidden = n.shapeOf(r)[2];
  if (n.hasAttr("hidden_size") && n.intAttr("hidden_size", 0) != hidden)
    return n.fail("hidden_size " + std::to_string(n.intAttr("hidden_size", 0)) +
                  " differs from R's last dimension " + std::to_string(hidden));
  if (steps < 1 || hidden < 1)
    return n.fail("X " + shapeToString(xs) + " and R " + shapeToString(n.shapeOf(r)) +
                  " leave no steps or no hidden units");
  if (elementCount({batch, hidden}) > kMaxFoldedElements)
    return n.fail("a state of " + shapeToString({batch, hidden}) + " is over the " +
                  std::to_string(kMaxFoldedElements) + " elements of a compile-time constant");
  auto expectShape = [&](Value v, const char *what, Shape want) {
    if (v && n.shapeOf(v) != ArrayRef<int64_t>(want))
      return n.fail(std::string(what) + " has shape " + shapeToString(n.shapeOf(v)) +
                    ", expected " + shapeToString(want));
    return success();
  };
  Shape stateShape = layout ? Shape{batch, directions, hidden} : Shape{directions, batch, hidden};
  if (failed(expectShape(w, "W", {directions, gates * hidden, inputSize})) ||
      failed(expectShape(r, "R", {directions, gates * hidden, hidden})) ||
      failed(expectShape(b, "B", {directions, 2 * gates * hidden})) ||
      failed(expectShape(h0, "initial_h", stateShape)) ||
      failed(expectShape(c0, "initial_c", stateShape)) ||
      failed(expectShape(peephole, "P", {directions, 3 * hidden})) ||
      failed(expectShape(lens, "sequence_lens", {batch})))
    return failure();
  if (layout) {  // states are [batch, directions, hidden] in layout 1
    if (h0)
      h0 = n.transpose(h0, {1, 0, 2});
    if (c0)
      c0 = n.transpose(c0, {1, 0, 2});
  }
  for (Value v : {w, r, b, h0, c0, peephole})
    if (v && n.typeOf(v).getElementType() != t)
      return n.fail("X, W, R, B, initial_h, initial_c and P must have one element type");
  // Each step becomes its own ops (the recurrence is unrolled at compile time).
  constexpr int64_t kMaxSteps = 4096;
  if (steps * directions > kMaxSteps)
    return n.fail("sequence length " + std::to_string(steps) + " runs more than " +
                  std::to_string(kMaxSteps) + " steps; kiln unrolls recurrences at compile time");
  if (lens) {
    auto values = n.constantInput(4);
    if (!values)
      return n.notConstant(4, "sequence_lens");
    for (int64_t v : values->ints)
      if (v != steps)
        return n.fail("sequence_lens other than the full sequence length are not supported");
  }
  double clipLimit = n.floatAttr("clip", 0.0);
  bool linearBeforeReset = n.intAttr("linear_before_reset", 0);
  std::vector<std::vector<Value>> outputs(directions);
  std::vector<Value> lastH(directions), lastC(directions);
  for (int64_t d = 0; d < directions; ++d) {
    bool reverse = direction == "reverse" || d == 1;
    auto pick = [&](Value v) {  // direction d of [dirs, ...] -> [...]
      Value s = rc.slice(v, 0, d, 1);
      return n.reshape(s, Shape(n.shapeOf(s).drop_front()));
    };
    Value wd = pick(w), rd = pick(r);
    Value wb, rb;
    if (b) {
      Value bd = pick(b);
      wb = rc.slice(bd, 0, 0, gates * hidden);
      rb = rc.slice(bd, 0, gates * hidden, gates * hidden);
    }
    Value h = h0 ? pick(h0)
                 : n.constant({batch, hidden}, t, std::vector<double>(batch * hidden, 0.0));
    Value c = c0 ? pick(c0)
                 : n.constant({batch, hidden}, t, std::vector<double>(batch * hidden, 0.0));
    Value pd = peephole ? pick(peephole) : Value();
    auto gate = [&](Value all, int k) { return rc.slice(all, 1, k * hidden, hidden); };
    auto vecGate = [&](Value v, int k) { return rc.slice(v, 0, k * hidden, hidden); };
    outputs[d].resize(steps);
    for (int64_t s = 0; s < steps; ++s) {
      int64_t step = reverse ? steps - 1 - s : s;
      Value xt = n.reshape(rc.slice(x, 0, step, 1), {batch, xs[2]});
      Value xw = rc.linear(xt, wd);
      if (wb)
        xw = rc.add(xw, wb);
      if (cell == Cell::Rnn) {
        Value hr = rc.linear(h, rd);
        if (rb)
          hr = rc.add(hr, rb);
        h = rc.tanh(rc.clip(rc.add(xw, hr), clipLimit));
      } else if (cell == Cell::Lstm) {
        // Gate order i, o, f, c.
        Value hr = rc.linear(h, rd);
        if (rb)
          hr = rc.add(hr, rb);
        Value g = rc.add(xw, hr);
        Value i = gate(g, 0), o = gate(g, 1), f = gate(g, 2), cc = gate(g, 3);
        if (pd) {
          i = rc.add(i, rc.mul(vecGate(pd, 0), c));
          f = rc.add(f, rc.mul(vecGate(pd, 2), c));
        }
        i = rc.sigmoid(rc.clip(i, clipLimit));
        f = rc.sigmoid(rc.clip(f, clipLimit));
        cc = rc.tanh(rc.clip(cc, clipLimit));
        c = rc.add(rc.mul(f, c), rc.mul(i, cc));
        if (pd)
          o = rc.add(o, rc.mul(vecGate(pd, 1), c));
        o = rc.sigmoid(rc.clip(o, clipLimit));
        h = rc.mul(o, rc.tanh(c));
      } else {
        // Gate order z, r, h.
        Value rdZR = rc.slice(rd, 0, 0, 2 * hidden), rdH = rc.slice(rd, 0, 2 * hidden, hidden);
        Value hr = rc.linear(h, rdZR);
        if (rb)
          hr = rc.add(hr, rc.slice(rb, 0, 0, 2 * hidden));
        Value z = rc.sigmoid(rc.clip(rc.add(gate(xw, 0), gate(hr, 0)), clipLimit));
        Value rg = rc.sigmoid(rc.clip(rc.add(gate(xw, 1), gate(hr, 1)), clipLimit));
        Value candidate;
        Value rbH = rb ? rc.slice(rb, 0, 2 * hidden, hidden) : Value();
        if (linearBeforeReset) {
          Value hh = rc.linear(h, rdH);
          if (rbH)
            hh = rc.add(hh, rbH);
          candidate = rc.add(gate(xw, 2), rc.mul(rg, hh));
        } else {
          Value hh = rc.linear(rc.mul(rg, h), rdH);
          if (rbH)
            hh = rc.add(hh, rbH);
          candidate = rc.add(gate(xw, 2), hh);
        }
        candidate = rc.tanh(rc.clip(candidate, clipLimit));
        Value one = n.scalar(1.0, t);
        h = rc.add(rc.mul(n.must(n.binary<SubOp>(one, z)), candidate), rc.mul(z, h));
      }
      outputs[d][step] = h;
    }
    lastH[d] = h;
    lastC[d] = c;
  }
  // Y [steps, dirs, batch, hidden]; Y_h and Y_c [dirs, batch, hidden].
  SmallVector<Value> perStep;
  for (int64_t s = 0; s < steps; ++s) {
    SmallVector<Value> dirs;
    for (int64_t d = 0; d < directions; ++d)
      dirs.push_back(n.reshape(outputs[d][s], {1, 1, batch, hidden}));
    perStep.push_back(dirs.size() == 1 ? dirs[0]
                                       : n.create<ConcatOp>(n.tensorType({1, directions, batch, hidden}, t),
                                                            dirs, n.builder.getI64IntegerAttr(1)));
  }
  Value y = perStep.size() == 1 ? perStep[0]
                                : n.create<ConcatOp>(n.tensorType({steps, directions, batch, hidden}, t),
                                                     perStep, n.builder.getI64IntegerAttr(0));
  auto stackDirections = [&](std::vector<Value> &finals) {
    SmallVector<Value> parts;
    for (Value v : finals)
      parts.push_back(n.reshape(v, {1, batch, hidden}));
    return parts.size() == 1 ? parts[0]
                             : n.create<ConcatOp>(n.tensorType({directions, batch, hidden}, t),
                                                  parts, n.builder.getI64IntegerAttr(0));
  };
  if (layout) {
    y = n.transpose(y, {2, 0, 1, 3});
    n.setOutput(0, y);
    n.setOutput(1, n.transpose(stackDirections(lastH), {1, 0, 2}));
    if (cell == Cell::Lstm)
      n.setOutput(2, n.transpose(stackDirections(lastC), {1, 0, 2}));
  } else {
    n.setOutput(0, y);
    n.setOutput(1, stackDirections(lastH));
    if (cell == Cell::Lstm)
      n.setOutput(2, stackDirections(lastC));
  }
  return success();
}

/// TopK by k rounds of arg-max (or min) with the chosen element masked out each round:
/// exact, ties resolved to the lower index as ONNX requires. Meant for small k.
LogicalResult importTopK(NodeImporter &n) {
  Value x = n.input(0);
  ArrayRef<int64_t> shape = n.shapeOf(x);
  auto kValues = n.constantInput(1);
  if (!kValues)
    return n.notConstant(1, "K");
  int64_t k = kValues->ints.at(0);
  auto axis = n.axis(n.intAttr("axis", -1), shape.size());
  if (failed(axis))
    return failure();
  if (k < 1 || k > shape[*axis])
    return n.fail("K " + std::to_string(k) + " is out of range [1, " +
                  std::to_string(shape[*axis]) + "]");
  if (shape[*axis] > kMaxFoldedElements)
    return n.fail("TopK along an axis of " + std::to_string(shape[*axis]) +
                  " elements is not supported");
  if (k > 64)
    return n.fail("K above 64 is not supported (TopK unrolls K selection rounds)");
  bool largest = n.intAttr("largest", 1);
  Type t = n.typeOf(x).getElementType();
  if (!llvm::isa<FloatType>(t))
    return n.fail("TopK on integers is not supported");
  Shape one(shape);
  one[*axis] = 1;
  Shape iotaShape(shape.size(), 1);
  iotaShape[*axis] = shape[*axis];
  std::vector<int64_t> iota(shape[*axis]);
  for (int64_t i = 0; i < shape[*axis]; ++i) iota[i] = i;
  Value positions = n.constant(iotaShape, n.builder.getI64Type(), {}, iota);
  Value fill = n.scalar(largest ? -INFINITY : INFINITY, t);
  SmallVector<Value> valueParts, indexParts;
  Value remaining = x;
  for (int64_t round = 0; round < k; ++round) {
    Value index = n.create<ArgReduceOp>(n.tensorType(one, n.builder.getI64Type()), remaining,
                                        n.builder.getStringAttr(largest ? "max" : "min"),
                                        n.builder.getI64IntegerAttr(*axis), n.builder.getBoolAttr(false));
    Value value = n.create<GatherElementsOp>(n.tensorType(one, t), x, index,
                                             n.builder.getI64IntegerAttr(*axis));
    valueParts.push_back(value);
    indexParts.push_back(index);
    remaining = n.must(n.select(n.must(n.compare("eq", positions, index)), fill, remaining));
  }
  Shape outShape(shape);
  outShape[*axis] = k;
  auto join = [&](SmallVector<Value> &parts, Type elementType) {
    return parts.size() == 1 ? parts[0]
                             : n.create<ConcatOp>(n.tensorType(outShape, elementType), parts,
                                                  n.builder.getI64IntegerAttr(*axis));
  };
  n.setOutput(0, join(valueParts, t));
  n.setOutput(1, join(indexParts, n.builder.getI64Type()));
  return success();
}

} // namespace

void registerRecurrentOps(OpTable &t) {
  t["RNN"] = [](NodeImporter &n) { return importRecurrent(n, Cell::Rnn); };
  t["GRU"] = [](NodeImporter &n) { return importRecurrent(n, Cell::Gru); };
  t["LSTM"] = [](NodeImporter &n) { return importRecurrent(n, Cell::Lstm); };
  t["TopK"] = importTopK;
}

} // namespace kiln
