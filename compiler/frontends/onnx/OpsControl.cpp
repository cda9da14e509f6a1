//===- OpsControl.cpp - ONNX control flow and sequences, resolved at compile time ===//
//
// Control flow decided at compile time stays there: If with a constant condition inlines
// the taken branch, Loop with a constant trip count (and a condition that folds) unrolls,
// and sequences become lists of tensors that the importer tracks by name. If on a computed
// condition becomes a kiln.if that the glue decides at run time. What cannot be decided
// is reported naming the input to bind (kiln compile --bind NAME=...).
//
//===----------------------------------------------------------------------===//
#include "compiler/frontends/onnx/NodeImporter.h"

using namespace mlir;

namespace kiln {
namespace {

/// Looks up a name as a tensor or a sequence and binds it to `target` in the same role.
bool forward(NodeImporter &n, const std::string &from, const std::string &target) {
  if (auto it = n.values.find(from); it != n.values.end()) {
    n.values[target] = it->second;
    n.sequences.erase(target);
    return true;
  }
  if (auto it = n.sequences.find(from); it != n.sequences.end()) {
    std::vector<Value> copy = it->second;
    n.sequences[target] = copy;
    n.values.erase(target);
    return true;
  }
  return false;
}

/// Appends the body's scan output `name` of this iteration to `list`; every iteration must
/// give the same type.
LogicalResult collectScanOutput(NodeImporter &n, const std::string &name, std::vector<Value> &list) {
  auto it = n.values.find(name);
  if (it == n.values.end())
    return n.fail("scan output '" + name + "' is not a tensor");
  if (!list.empty() && it->second.getType() != list[0].getType())
    return n.fail("scan output '" + name + "' changes type between iterations");
  list.push_back(it->second);
  return success();
}

/// The iterations' scan outputs stacked along a new axis `axis`.
Value stackScanOutput(NodeImporter &n, ArrayRef<Value> values, int64_t axis) {
  Shape shape(n.shapeOf(values[0]));
  shape.insert(shape.begin() + axis, 1);
  SmallVector<Value> stacked;
  for (Value v : values)
    stacked.push_back(n.reshape(v, shape));
  shape[axis] = int64_t(values.size());
  return n.create<ConcatOp>(n.tensorType(shape, n.typeOf(values[0]).getElementType()), stacked,
                            n.builder.getI64IntegerAttr(axis));
}

/// If on a computed condition: both branches imported into a kiln.if, which the glue
/// decides between at run time. Their outputs must agree in type and shape (the arena
/// holds one result buffer that either branch fills).
LogicalResult importRunTimeIf(NodeImporter &n) {
  Value condition = n.input(0);
  auto conditionType = n.typeOf(condition);
  if (!conditionType.getElementType().isInteger(1) || conditionType.getNumElements() != 1)
    return n.fail("cond must be one bool, not a tensor of shape " +
                  shapeToString(conditionType.getShape()));
  const onnx::GraphProto *branches[2] = {n.graphAttr("then_branch"), n.graphAttr("else_branch")};
  if (!branches[0] || !branches[1])
    return n.fail("missing branch");
  // The results' types are known once both branches are imported: build them into a
  // placeholder, then move its regions into the real op.
  auto placeholder = IfOp::create(n.builder, n.loc, TypeRange{}, condition);
  auto discard = [&](LogicalResult result) {
    if (placeholder)
      placeholder->erase();
    return result;
  };
  std::vector<SmallVector<Value>> yielded(2);
  OpBuilder::InsertionGuard guard(n.builder);
  for (int b = 0; b < 2; ++b) {
    const onnx::GraphProto &branch = *branches[b];
    const char *which = b == 0 ? "then_branch" : "else_branch";
    Region &region = b == 0 ? placeholder.getThenRegion() : placeholder.getElseRegion();
    n.builder.setInsertionPointToEnd(&region.emplaceBlock());
    if (failed(n.importSubgraph(branch)))
      return discard(failure());
    if (branch.output_size() != n.outputCount())
      return discard(n.fail(std::string(which) + " has " + std::to_string(branch.output_size()) +
                            " outputs, If has " + std::to_string(n.outputCount())));
    for (const auto &output : branch.output()) {
      auto it = n.values.find(output.name());
      if (it == n.values.end())
        return discard(n.fail(std::string(which) + " output '" + output.name() +
                              (n.sequences.count(output.name())
                                   ? "' is a sequence; a run-time If yields tensors only"
                                   : "' is never produced")));
      yielded[b].push_back(it->second);
    }
    YieldOp::create(n.builder, n.loc, yielded[b]);
  }
  SmallVector<Type> types;
  for (int i = 0; i < n.outputCount(); ++i) {
    Type thenType = yielded[0][i].getType(), elseType = yielded[1][i].getType();
    if (thenType != elseType)
      return discard(n.fail(
          "output " + std::to_string(i) + " ('" + n.node.output(i) + "') is " +
          shapeToString(n.shapeOf(yielded[0][i])) + " in then_branch and " +
          shapeToString(n.shapeOf(yielded[1][i])) + " in else_branch (or differs in type); "
          "a run-time If needs both branches to give one type and shape"));
    types.push_back(thenType);
  }
  n.builder.setInsertionPoint(placeholder);
  auto op = IfOp::create(n.builder, n.loc, types, condition);
  op.getThenRegion().takeBody(placeholder.getThenRegion());
  op.getElseRegion().takeBody(placeholder.getElseRegion());
  placeholder->erase();
  placeholder = nullptr;
  for (int i = 0; i < n.outputCount(); ++i)
    n.setOutput(i, op.getResult(i));
  return success();
}

LogicalResult importIf(NodeImporter &n) {
  auto condition = n.constantInput(0);
  if (!condition)
    return importRunTimeIf(n);
  const onnx::GraphProto *branch =
      n.graphAttr(condition->floats.at(0) != 0 ? "then_branch" : "else_branch");
  if (!branch)
    return n.fail("missing branch");
  if (failed(n.importSubgraph(*branch)))
    return failure();
  if (branch->output_size() != n.outputCount())
    return n.fail("branch has " + std::to_string(branch->output_size()) + " outputs, If has " +
                  std::to_string(n.outputCount()));
  for (int i = 0; i < n.outputCount(); ++i)
    if (!forward(n, branch->output(i).name(), n.node.output(i)))
      return n.fail("branch output '" + branch->output(i).name() + "' is never produced");
  return success();
}

/// Loop decided at run time: the body imported once into a kiln.loop that the glue
/// iterates. `limit` bounds the iterations (every run ends).
LogicalResult importRunTimeLoop(NodeImporter &n, const onnx::GraphProto &body, int carried,
                                int64_t limit) {
  Type i64 = n.builder.getI64Type(), i1 = n.builder.getI1Type();
  Value tripCount = n.input(0) ? n.input(0)
                               : n.constant({}, i64, {}, {std::numeric_limits<int64_t>::max()});
  Value condition = n.input(1) ? n.input(1) : n.constant({}, i1, {1.0});
  auto typeOf = [&](Value v) { return n.typeOf(v); };
  if (!typeOf(tripCount).getElementType().isInteger(64) || typeOf(tripCount).getNumElements() != 1)
    return n.fail("M must be one int64");
  if (!typeOf(condition).getElementType().isInteger(1) || typeOf(condition).getNumElements() != 1)
    return n.fail("cond must be one bool");
  SmallVector<Value> inits;
  for (int k = 0; k < carried; ++k) {
    Value init = n.input(2 + k);
    if (!init)
      return n.fail("loop-carried input " + std::to_string(k) + " ('" + n.node.input(2 + k) +
                    "') is not a tensor; a loop decided at run time carries tensors only");
    inits.push_back(init);
  }
  auto loop = LoopOp::create(n.builder, n.loc, ValueRange(inits).getTypes(), tripCount, condition,
                             inits, n.builder.getI64IntegerAttr(limit));
  Block &block = loop.getBody().emplaceBlock();
  SmallVector<Type> argTypes = {RankedTensorType::get({}, i64), RankedTensorType::get({}, i1)};
  for (Value init : inits)
    argTypes.push_back(init.getType());
  for (auto [k, type] : llvm::enumerate(argTypes)) {
    BlockArgument arg = block.addArgument(type, n.loc);
    if (!body.input(int(k)).name().empty())
      n.values[body.input(int(k)).name()] = arg;
  }
  auto discard = [&](LogicalResult result) {
    loop->erase();
    return result;
  };
  OpBuilder::InsertionGuard guard(n.builder);
  n.builder.setInsertionPointToEnd(&block);
  if (failed(n.importSubgraph(body)))
    return discard(failure());
  SmallVector<Value> yielded;
  for (int k = 0; k <= carried; ++k) {
    const std::string &name = body.output(k).name();
    auto it = n.values.find(name);
    if (it == n.values.end())
      return discard(n.fail("body output '" + name + "' is never produced" +
                            (n.sequences.count(name) ? " as a tensor" : "")));
    Type expected = k == 0 ? Type() : inits[k - 1].getType();
    if (k == 0 && (!typeOf(it->second).getElementType().isInteger(1) ||
                   typeOf(it->second).getNumElements() != 1))
      return discard(n.fail("the body's condition '" + name + "' must be one bool"));
    if (k > 0 && it->second.getType() != expected)
      return discard(n.fail(
          "loop-carried value " + std::to_string(k - 1) + " ('" + name + "') is " +
          shapeToString(n.shapeOf(it->second)) + " after an iteration and " +
          shapeToString(n.shapeOf(inits[k - 1])) + " before it (or differs in type); a loop "
          "decided at run time keeps each carried value's type and shape"));
    yielded.push_back(it->second);
  }
  YieldOp::create(n.builder, n.loc, yielded);
  for (int k = 0; k < carried; ++k)
    n.setOutput(k, loop.getResult(k));
  return success();
}

LogicalResult importLoop(NodeImporter &n) {
  const onnx::GraphProto *body = n.graphAttr("body");
  if (!body || body->input_size() < 2 || body->output_size() < 1)
    return n.fail("missing or malformed body");
  int carried = n.inputCount() - 2;
  int scans = body->output_size() - 1 - carried;
  if (carried < 0 || scans < 0 || body->input_size() != 2 + carried ||
      n.node.output_size() != carried + scans)
    return n.fail("the body's inputs and outputs do not match the loop's");
  constexpr int64_t kMaxUnroll = 4096;
  // A trip count and condition known now unroll the loop (up to kMaxUnroll iterations);
  // otherwise the glue runs it, which its scan outputs (their length then depends on the
  // data) do not support yet.
  auto runTime = [&](int64_t limit, int which, const char *what) -> LogicalResult {
    if (scans > 0 && n.input(which) && !n.constantInput(which)) {
      (void)n.notConstant(which, what);
      return n.fail(n.error + ": the loop has " + std::to_string(scans) + " scan outputs, whose "
                    "length would depend on the data (not supported yet; bind it with kiln "
                    "compile --bind " + n.node.input(which) + "=...)");
    }
    if (scans > 0)
      return n.fail("loop runs more than " + std::to_string(kMaxUnroll) +
                    " iterations with scan outputs; kiln unrolls such loops");
    return importRunTimeLoop(n, *body, carried, limit);
  };
  int64_t tripCount = std::numeric_limits<int64_t>::max();
  if (n.input(0)) {
    auto m = n.constantInput(0);
    if (!m)
      return runTime(n.maxLoopIterations, 0, "M");
    if (!m->isInteger || m->ints.size() != 1)
      return n.fail("M must be one integer");
    tripCount = m->ints[0];
  }
  bool keepGoing = true;
  if (n.input(1)) {
    auto c = n.constantInput(1);
    if (!c)
      return runTime(tripCount == std::numeric_limits<int64_t>::max()
                         ? n.maxLoopIterations
                         : std::max<int64_t>(0, tripCount),
                     1, "cond");
    if (c->floats.size() != 1)
      return n.fail("cond must be one value");
    keepGoing = c->floats[0] != 0;
  }
  if (tripCount == std::numeric_limits<int64_t>::max() && !n.input(1))
    return n.fail("a loop without trip count or condition never ends");
  if (keepGoing && tripCount > kMaxUnroll)
    return runTime(tripCount == std::numeric_limits<int64_t>::max() ? n.maxLoopIterations
                                                                      : tripCount,
                   0, "M");
  // Current loop-carried values by the names the body reads them under.
  std::vector<std::string> state;
  for (int k = 0; k < carried; ++k) {
    std::string name = "__kiln_loop_state_" + std::to_string(k);
    if (!forward(n, n.node.input(2 + k), name))
      return n.fail("loop-carried input '" + n.node.input(2 + k) + "' is undefined");
    state.push_back(name);
  }
  std::vector<std::vector<Value>> scanValues(scans);
  int64_t iteration = 0;
  for (; keepGoing && iteration < tripCount; ++iteration) {
    if (iteration >= kMaxUnroll)
      return n.fail("loop runs more than " + std::to_string(kMaxUnroll) +
                    " iterations; kiln unrolls loops at compile time");
    n.values[body->input(0).name()] = n.constant({}, n.builder.getI64Type(), {}, {iteration});
    n.values[body->input(1).name()] = n.constant({}, n.builder.getI1Type(), {double(keepGoing)});
    for (int k = 0; k < carried; ++k)
      forward(n, state[k], body->input(2 + k).name());
    if (failed(n.importSubgraph(*body)))
      return failure();
    auto cond = n.values.find(body->output(0).name());
    if (cond == n.values.end())
      return n.fail("body condition is never produced");
    auto condConstant = readConstant(cond->second.getDefiningOp<ConstantOp>()
                                         ? cond->second.getDefiningOp<ConstantOp>().getValue()
                                         : Attribute());
    if (!condConstant)
      return n.fail("the loop condition computed by the body is not a compile-time constant");
    if (condConstant->floats.size() != 1)
      return n.fail("the body's condition must be one value");
    keepGoing = condConstant->floats[0] != 0;
    for (int k = 0; k < carried; ++k)
      if (!forward(n, body->output(1 + k).name(), state[k]))
        return n.fail("body output '" + body->output(1 + k).name() + "' is never produced");
    for (int k = 0; k < scans; ++k)
      if (failed(collectScanOutput(n, body->output(1 + carried + k).name(), scanValues[k])))
        return failure();
  }
  for (int k = 0; k < carried; ++k)
    forward(n, state[k], n.node.output(k));
  for (int k = 0; k < scans; ++k) {
    if (scanValues[k].empty())
      return n.fail("the loop runs zero times, so scan output " + std::to_string(k) +
                    " has no shape");
    n.setOutput(carried + k, stackScanOutput(n, scanValues[k], 0));
  }
  return success();
}

/// Scan (opset 9 and later): the sequence length is a static dimension of the scan
/// inputs, so the body is unrolled over it like a Loop with a constant trip count.
LogicalResult importScan(NodeImporter &n) {
  if (n.opset < 9)
    return n.fail("Scan before opset 9 (a batch axis and sequence_lens) is not supported");
  const onnx::GraphProto *body = n.graphAttr("body");
  int64_t scanInputs = n.intAttr("num_scan_inputs", -1);
  int states = n.inputCount() - int(scanInputs);
  int scanOutputs = body ? body->output_size() - states : -1;
  if (!body || scanInputs < 1 || states < 0 || scanOutputs < 0 ||
      body->input_size() != n.inputCount() || n.outputCount() != states + scanOutputs)
    return n.fail("the body's inputs and outputs do not match the Scan's");
  auto listAttr = [&](const char *name, int count) -> FailureOr<std::vector<int64_t>> {
    std::vector<int64_t> values = n.intsAttr(name, std::vector<int64_t>(count, 0));
    if (int(values.size()) != count)
      return n.fail(std::string(name) + " has " + std::to_string(values.size()) +
                    " entries, expected " + std::to_string(count));
    return values;
  };
  auto inputAxes = listAttr("scan_input_axes", int(scanInputs));
  auto inputDirections = listAttr("scan_input_directions", int(scanInputs));
  auto outputAxes = listAttr("scan_output_axes", scanOutputs);
  auto outputDirections = listAttr("scan_output_directions", scanOutputs);
  if (failed(inputAxes) || failed(inputDirections) || failed(outputAxes) ||
      failed(outputDirections))
    return failure();
  // The scan inputs' axes and the sequence length they share.
  int64_t length = -1;
  std::vector<Value> sources;
  for (int j = 0; j < scanInputs; ++j) {
    Value x = n.input(states + j);
    if (!x)
      return n.fail("scan input " + std::to_string(j) + " is not a tensor");
    auto axis = n.axis((*inputAxes)[j], n.typeOf(x).getRank());
    if (failed(axis))
      return failure();
    (*inputAxes)[j] = *axis;
    int64_t extent = n.shapeOf(x)[*axis];
    if (length >= 0 && extent != length)
      return n.fail("scan inputs have sequence lengths " + std::to_string(length) + " and " +
                    std::to_string(extent));
    length = extent;
    sources.push_back(x);
  }
  constexpr int64_t kMaxUnroll = 4096;
  if (length > kMaxUnroll)
    return n.fail("the sequence has " + std::to_string(length) + " steps; kiln unrolls Scan "
                  "up to " + std::to_string(kMaxUnroll));
  std::vector<std::string> state;
  for (int k = 0; k < states; ++k) {
    std::string name = "__kiln_scan_state_" + std::to_string(k);
    if (!forward(n, n.node.input(k), name))
      return n.fail("state input '" + n.node.input(k) + "' is undefined");
    state.push_back(name);
  }
  std::vector<std::vector<Value>> slices(scanOutputs);
  for (int64_t t = 0; t < length; ++t) {
    for (int j = 0; j < scanInputs; ++j) {
      Value x = sources[j];
      int64_t axis = (*inputAxes)[j];
      Shape shape(n.shapeOf(x));
      shape[axis] = 1;
      SmallVector<int64_t> starts(shape.size(), 0), steps(shape.size(), 1);
      starts[axis] = (*inputDirections)[j] ? length - 1 - t : t;
      Value slice = n.create<SliceOp>(n.tensorType(shape, n.typeOf(x).getElementType()), x,
                                      n.builder.getDenseI64ArrayAttr(starts),
                                      n.builder.getDenseI64ArrayAttr(steps));
      shape.erase(shape.begin() + axis);
      n.values[body->input(states + j).name()] = n.reshape(slice, shape);
    }
    for (int k = 0; k < states; ++k)
      forward(n, state[k], body->input(k).name());
    if (failed(n.importSubgraph(*body)))
      return failure();
    for (int k = 0; k < states; ++k)
      if (!forward(n, body->output(k).name(), state[k]))
        return n.fail("body output '" + body->output(k).name() + "' is never produced");
    for (int k = 0; k < scanOutputs; ++k)
      if (failed(collectScanOutput(n, body->output(states + k).name(), slices[k])))
        return failure();
  }
  for (int k = 0; k < states; ++k)
    forward(n, state[k], n.node.output(k));
  for (int k = 0; k < scanOutputs; ++k) {
    if (slices[k].empty())
      return n.fail("the sequence is empty, so scan output " + std::to_string(k) +
                    " has no shape");
    auto axis = n.axis((*outputAxes)[k], n.typeOf(slices[k][0]).getRank() + 1);
    if (failed(axis))
      return failure();
    if ((*outputDirections)[k])
      std::reverse(slices[k].begin(), slices[k].end());
    n.setOutput(states + k, stackScanOutput(n, slices[k], *axis));
  }
  return success();
}

//===----------------------------------------------------------------------===//
// Sequences
//===----------------------------------------------------------------------===//

std::vector<Value> *sequenceInput(NodeImporter &n, int i) {
  auto it = n.sequences.find(i < n.inputCount() ? n.node.input(i) : "");
  return it == n.sequences.end() ? nullptr : &it->second;
}

/// A position input (constant scalar), normalized against `size` (`size` itself allowed
/// when inserting).
FailureOr<int64_t> position(NodeImporter &n, int i, int64_t size, int64_t fallback,
                            bool inserting) {
  if (!n.input(i))
    return fallback;
  auto p = n.constantInput(i);
  if (!p)
    return n.notConstant(i, "position");
  int64_t at = p->ints.at(0);
  if (at < 0)
    at += size;
  if (at < 0 || at > size || (!inserting && at == size)) {
    return n.fail("position " + std::to_string(p->ints[0]) + " is out of range for a sequence of " +
           std::to_string(size));
  }
  return at;
}

LogicalResult importSequenceEmpty(NodeImporter &n) {
  n.sequences[n.node.output(0)] = {};
  return success();
}

LogicalResult importSequenceConstruct(NodeImporter &n) {
  std::vector<Value> list;
  for (int i = 0; i < n.inputCount(); ++i)
    list.push_back(n.input(i));
  n.sequences[n.node.output(0)] = list;
  return success();
}

LogicalResult importSequenceAt(NodeImporter &n) {
  auto *list = sequenceInput(n, 0);
  if (!list)
    return n.fail("input 0 is not a sequence");
  auto at = position(n, 1, list->size(), 0, false);
  if (failed(at))
    return failure();
  n.setOutput(0, (*list)[*at]);
  return success();
}

LogicalResult importSequenceInsert(NodeImporter &n) {
  auto *list = sequenceInput(n, 0);
  if (!list)
    return n.fail("input 0 is not a sequence");
  std::vector<Value> copy = *list;
  auto at = position(n, 2, copy.size(), copy.size(), true);
  if (failed(at))
    return failure();
  copy.insert(copy.begin() + *at, n.input(1));
  n.sequences[n.node.output(0)] = copy;
  return success();
}

LogicalResult importSequenceErase(NodeImporter &n) {
  auto *list = sequenceInput(n, 0);
  if (!list || list->empty())
    return n.fail("input 0 is not a non-empty sequence");
  std::vector<Value> copy = *list;
  auto at = position(n, 1, copy.size(), int64_t(copy.size()) - 1, false);
  if (failed(at))
    return failure();
  copy.erase(copy.begin() + *at);
  n.sequences[n.node.output(0)] = copy;
  return success();
}

LogicalResult importSequenceLength(NodeImporter &n) {
  auto *list = sequenceInput(n, 0);
  if (!list)
    return n.fail("input 0 is not a sequence");
  n.setOutput(0, n.constant({}, n.builder.getI64Type(), {}, {int64_t(list->size())}));
  return success();
}

/// Sequences are unrolled into one value per tensor at compile time.
constexpr int64_t kMaxSequenceLength = 1 << 16;

LogicalResult importSplitToSequence(NodeImporter &n) {
  Value x = n.input(0);
  ArrayRef<int64_t> shape = n.shapeOf(x);
  auto axis = n.axis(n.intAttr("axis", 0), shape.size());
  if (failed(axis))
    return failure();
  std::vector<int64_t> sizes;
  bool squeeze = false;
  if (n.input(1)) {
    auto split = n.constantInput(1);
    if (!split)
      return n.notConstant(1, "split");
    if (!split->isInteger || split->type.getRank() > 1)
      return n.fail("split must be an integer scalar or list");
    if (split->type.getRank() == 0) {
      if (split->ints[0] < 1)
        return n.fail("split must be positive");
      for (int64_t left = shape[*axis]; left > 0; left -= split->ints[0])
        sizes.push_back(std::min(left, split->ints[0]));
    } else {
      sizes = split->ints;
      int64_t total = 0;
      for (int64_t size : sizes)
        if (size < 0 || (total += size) > shape[*axis])
          return n.fail("split sizes must be non-negative and add up to " +
                        std::to_string(shape[*axis]));
    }
  } else {
    sizes.assign(std::min<int64_t>(shape[*axis], kMaxSequenceLength + 1), 1);
    squeeze = !n.intAttr("keepdims", 1);
  }
  if (int64_t(sizes.size()) > kMaxSequenceLength)
    return n.fail("the sequence would have more than " + std::to_string(kMaxSequenceLength) +
                  " tensors");
  std::vector<Value> list;
  int64_t offset = 0;
  for (int64_t size : sizes) {
    Shape partShape(shape);
    partShape[*axis] = size;
    SmallVector<int64_t> starts(shape.size(), 0), steps(shape.size(), 1);
    starts[*axis] = offset;
    offset += size;
    Value part = n.create<SliceOp>(n.tensorType(partShape, n.typeOf(x).getElementType()), x,
                                   n.builder.getDenseI64ArrayAttr(starts),
                                   n.builder.getDenseI64ArrayAttr(steps));
    if (squeeze) {
      partShape.erase(partShape.begin() + *axis);
      part = n.reshape(part, partShape);
    }
    list.push_back(part);
  }
  if (offset != shape[*axis])
    return n.fail("split sizes do not add up to the axis length");
  n.sequences[n.node.output(0)] = list;
  return success();
}

LogicalResult importConcatFromSequence(NodeImporter &n) {
  auto *list = sequenceInput(n, 0);
  if (!list || list->empty())
    return n.fail("input 0 is not a non-empty sequence");
  bool newAxis = n.intAttr("new_axis", 0);
  int64_t rank = n.shapeOf((*list)[0]).size() + (newAxis ? 1 : 0);
  auto axis = n.axis(n.intAttr("axis", 0), rank);
  if (failed(axis))
    return failure();
  ArrayRef<int64_t> first = n.shapeOf((*list)[0]);
  for (Value v : *list) {
    ArrayRef<int64_t> s = n.shapeOf(v);
    bool fits = s.size() == first.size() &&
                n.typeOf(v).getElementType() == n.typeOf((*list)[0]).getElementType();
    for (size_t i = 0; fits && i < s.size(); ++i)
      fits = s[i] == first[i] || (!newAxis && int64_t(i) == *axis);
    if (!fits)
      return n.fail("the sequence's tensors " + shapeToString(first) + " and " +
                    shapeToString(s) + " do not concatenate along axis " +
                    std::to_string(*axis));
  }
  SmallVector<Value> parts;
  Shape total;
  for (Value v : *list) {
    Shape shape(n.shapeOf(v));
    if (newAxis) {
      shape.insert(shape.begin() + *axis, 1);
      v = n.reshape(v, shape);
    }
    if (total.empty())
      total = shape, total[*axis] = 0;
    total[*axis] += shape[*axis];
    parts.push_back(v);
  }
  n.setOutput(0, n.create<ConcatOp>(n.tensorType(total, n.typeOf(parts[0]).getElementType()),
                                    parts, n.builder.getI64IntegerAttr(*axis)));
  return success();
}

LogicalResult importCompress(NodeImporter &n) {
  Value x = n.input(0);
  auto condition = n.constantInput(1);
  if (!condition)
    return n.notConstant(1, "condition");
  if (!n.hasAttr("axis")) {
    x = n.reshape(x, {elementCount(n.shapeOf(x))});
  }
  auto axis = n.axis(n.intAttr("axis", 0), n.shapeOf(x).size());
  if (failed(axis))
    return failure();
  std::vector<int64_t> kept;
  for (size_t i = 0; i < condition->floats.size() && int64_t(i) < n.shapeOf(x)[*axis]; ++i)
    if (condition->floats[i] != 0)
      kept.push_back(int64_t(i));
  Shape shape(n.shapeOf(x));
  shape[*axis] = int64_t(kept.size());
  Value indices = n.constant({int64_t(kept.size())}, n.builder.getI64Type(), {}, kept);
  n.setOutput(0, n.create<GatherOp>(n.tensorType(shape, n.typeOf(x).getElementType()), x,
                                    indices, n.builder.getI64IntegerAttr(*axis)));
  return success();
}

} // namespace

void registerControlOps(OpTable &t) {
  t["If"] = importIf;
  t["Loop"] = importLoop;
  t["Scan"] = importScan;
  t["SequenceEmpty"] = importSequenceEmpty;
  t["SequenceConstruct"] = importSequenceConstruct;
  t["SequenceAt"] = importSequenceAt;
  t["SequenceInsert"] = importSequenceInsert;
  t["SequenceErase"] = importSequenceErase;
  t["SequenceLength"] = importSequenceLength;
  t["SplitToSequence"] = importSplitToSequence;
  t["ConcatFromSequence"] = importConcatFromSequence;
  t["Compress"] = importCompress;
}

} // namespace kiln
