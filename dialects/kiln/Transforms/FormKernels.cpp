//===- FormKernels.cpp - group ops into kiln.kernel regions ---------------===//
//
// Kernel formation decides what becomes one generated kernel. Each compute op seeds a
// group; an elementwise op joins the group of its same-shaped operand so that chains like
// conv -> batchnorm affine -> hard_swish run as one pass over memory.
//
// 1. Walk ops in order, assigning each to a group; track for every group the set of
//    groups it depends on (transitively), so that a join that would make two kernels
//    depend on each other is refused.
// 2. Order groups so that dependencies come first (a group depends on strictly fewer
//    groups than any group that depends on it).
// 3. Outline each group into a kiln.kernel: operands from outside become block arguments
//    (small constants are cloned in so codegen can inline them), values used outside
//    become results.
//
//===----------------------------------------------------------------------===//
#include "dialects/kiln/Transforms/Passes.h"

#include "dialects/kiln/IR/KilnOps.h"
#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/BitVector.h"
#include "llvm/ADT/DenseMap.h"
#include <algorithm>

namespace kiln {
#define GEN_PASS_DEF_FORMKERNELSPASS
#include "dialects/kiln/Transforms/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace kiln {

bool isElementwise(Operation *op) {
  return isa<NegOp, AbsOp, SqrtOp, ExpOp, LogOp, TanhOp, ErfOp, SigmoidOp, ReluOp, FloorOp,
             CeilOp, ReciprocalOp, LeakyReluOp, ClipOp, HardSigmoidOp, CastOp, AddOp, SubOp,
             MulOp, DivOp, PowOp, MaxOp, MinOp, SinOp, CosOp, TanOp, AsinOp, AcosOp, AtanOp,
             SinhOp, CoshOp, AsinhOp, AcoshOp, AtanhOp, SignOp, RoundOp, NotOp, ClassifyOp,
             ModOp, FmodOp, AndOp, OrOp, XorOp, ShiftLeftOp, ShiftRightOp, CompareOp,
             SelectOp>(op);
}

namespace {

/// Constants small enough to be cloned into each kernel that uses them (codegen turns
/// them into immediates); larger ones are weights and stay kernel inputs.
bool isInlinableConstant(Value value) {
  auto constant = value.getDefiningOp<ConstantOp>();
  return constant && llvm::isa<DenseElementsAttr>(constant.getValue()) &&
         llvm::cast<RankedTensorType>(constant.getType()).getNumElements() <= 16;
}

/// Weights read through a view (decoded or re-indexed constants): cloned into each kernel
/// that reads them, their constant operands becoming kernel inputs.
bool isWeightView(Operation *op) {
  if (isa_and_nonnull<DequantizeOp>(op))
    return true;
  if (auto strips = dyn_cast_or_null<FromStripsOp>(op))
    return strips.getInput().getDefiningOp<ConstantOp>() != nullptr;
  auto transpose = dyn_cast_or_null<TransposeOp>(op);
  return transpose && transpose.getInput().getDefiningOp<ConstantOp>();
}

struct Group {
  SmallVector<Operation *> ops;
  // A reshape or with_extent (views: the result aliases the input), a kiln.if or
  // kiln.loop (their regions get kernels of their own) or a host op (NonZero,
  // NonMaxSuppression: run by the runtime): no kernel, the op stays outside.
  bool staysOutside = false;
  llvm::BitVector depends;  // transitive dependencies on other groups
};

/// What `op` reads: its operands and, for a kiln.if, the values its branches read from
/// outside them.
SmallVector<Value> readsOf(Operation *op) {
  SmallVector<Value> reads(op->getOperands());
  for (Region &region : op->getRegions())
    region.walk([&](Operation *inner) {
      for (Value operand : inner->getOperands())
        if (!op->isProperAncestor(operand.getParentRegion()->getParentOp()) &&
            !llvm::is_contained(reads, operand))
          reads.push_back(operand);
    });
  return reads;
}

/// A kernel that writes `value` (a constant, an argument, a view) into a buffer of its own.
Value copyKernel(OpBuilder &builder, Value value, int &kernelIndex) {
  bool inlined = isInlinableConstant(value);
  SmallVector<Value> inputs;
  if (!inlined)
    inputs.push_back(value);
  std::string what = value.getDefiningOp<ConstantOp>() ? "_constant" : "_copy";
  auto kernel = KernelOp::create(builder, value.getLoc(),
                                 "k" + std::to_string(kernelIndex++) + what,
                                 TypeRange{value.getType()}, inputs);
  Block &body = kernel.getBody().front();
  OpBuilder inner = OpBuilder::atBlockEnd(&body);
  Value result = inlined ? Value(inner.clone(*value.getDefiningOp())->getResult(0))
                         : Value(body.getArgument(0));
  YieldOp::create(inner, kernel.getLoc(), ValueRange{result});
  return kernel.getResult(0);
}

/// The values a loop body reads a state's block argument through: the argument and the
/// views (reshapes) of it.
llvm::SmallPtrSet<Value, 4> viewsOf(Value arg) {
  llvm::SmallPtrSet<Value, 4> views = {arg};
  SmallVector<Value> work = {arg};
  while (!work.empty())
    for (Operation *user : work.pop_back_val().getUsers())
      if (isa<ReshapeOp>(user) && views.insert(user->getResult(0)).second)
        work.push_back(user->getResult(0));
  return views;
}

/// A loop body yields into its states (the condition, the carried values), whose buffers
/// its block arguments read. A yielded value is written there directly by its kernel when
/// nothing reads the state's argument at or after that kernel; a value passed through
/// unchanged needs nothing; others are copied at the end of the body (through a fresh
/// buffer when they read a state themselves, so a swap of two states stays correct).
void prepareLoopYield(Block &block, OpBuilder &builder, int &kernelIndex) {
  Operation *terminator = block.getTerminator();
  builder.setInsertionPoint(terminator);
  auto states = block.getArguments().drop_front();  // condition, carried values
  SmallVector<llvm::SmallPtrSet<Value, 4>> views;
  for (Value arg : states)
    views.push_back(viewsOf(arg));
  auto readsState = [&](Value value) {
    return llvm::any_of(views, [&](const auto &set) { return set.contains(value); });
  };
  // Whether an op at or after `from` (nested ops included) reads state j.
  auto readLater = [&](Operation *from, size_t j) {
    for (Operation *op = from; op; op = op->getNextNode()) {
      bool reads = false;
      op->walk([&](Operation *inner) {
        for (Value operand : inner->getOperands())
          reads |= views[j].contains(operand);
      });
      if (reads)
        return true;
    }
    return false;
  };
  llvm::SmallPtrSet<Value, 8> claimed;
  SmallVector<bool> direct(states.size(), false);
  for (auto [j, operand] : llvm::enumerate(terminator->getOpOperands())) {
    Value value = operand.get();
    if (value == states[j])
      continue;  // passed through: the state already holds it
    auto producer = value.getDefiningOp<KernelOp>();
    direct[j] = producer && producer->getBlock() == &block && claimed.insert(value).second;
    if (!direct[j] && readsState(value))
      operand.set(copyKernel(builder, value, kernelIndex));  // a fresh buffer first
  }
  for (auto [j, operand] : llvm::enumerate(terminator->getOpOperands()))
    if (operand.get() != states[j] && !direct[j])
      operand.set(copyKernel(builder, operand.get(), kernelIndex));
  for (auto [j, operand] : llvm::enumerate(terminator->getOpOperands()))
    if (direct[j] && readLater(operand.get().getDefiningOp(), j))
      operand.set(copyKernel(builder, operand.get(), kernelIndex));
}

/// Forms the kernels of one block: the function's body, a branch of a kiln.if or the body
/// of a kiln.loop.
void formKernels(Block &block, int64_t maxDepth, int &kernelIndex) {
  SmallVector<Operation *> ops;
  // Constants and dequantized weights are not kernels of their own: small constants and
  // dequantize ops are cloned into each kernel that reads them (so weights are decoded
  // where they are used), large constants become kernel inputs.
  for (Operation &op : block.without_terminator())
    if (!isa<ConstantOp>(op) && !isWeightView(&op))
      ops.push_back(&op);

  // 1. Group assignment.
  std::vector<Group> groups;
  llvm::DenseMap<Operation *, int> groupOf;
  // Length of the longest elementwise chain ending at an op within its group: the depth
  // of the expression codegen builds for it.
  llvm::DenseMap<Operation *, int64_t> depthOf;
  auto producerGroup = [&](Value value) -> int {
    Operation *def = value.getDefiningOp();
    auto it = def ? groupOf.find(def) : groupOf.end();
    return it == groupOf.end() ? -1 : it->second;
  };
  for (Operation *op : ops) {
    int joined = -1;
    int64_t depth = 1;
    if (isElementwise(op)) {
      for (Value operand : op->getOperands()) {
        int g = producerGroup(operand);
        if (g < 0 || groups[g].staysOutside || operand.getType() != op->getResult(0).getType())
          continue;
        int64_t joinedDepth = 1;
        for (Value other : op->getOperands())
          if (producerGroup(other) == g)
            joinedDepth = std::max(joinedDepth, depthOf.lookup(other.getDefiningOp()) + 1);
        if (joinedDepth > maxDepth)
          continue;  // too deep: this op starts the next kernel
        bool cycle = llvm::any_of(op->getOperands(), [&](Value other) {
          int h = producerGroup(other);
          return h >= 0 && h != g && groups[h].depends.test(g);
        });
        if (!cycle) {
          joined = g;
          depth = joinedDepth;
          break;
        }
      }
    }
    int g = joined;
    if (g < 0) {
      g = int(groups.size());
      groups.push_back(Group());
      groups.back().staysOutside = isa<ReshapeOp, IfOp, LoopOp, WithExtentOp>(op) || isHostOp(op);
      for (Group &group : groups)
        group.depends.resize(groups.size());
    }
    groups[g].ops.push_back(op);
    groupOf[op] = g;
    depthOf[op] = depth;
    bool grew = false;
    for (Value operand : readsOf(op)) {
      int h = producerGroup(operand);
      if (h < 0 || h == g || groups[g].depends.test(h))
        continue;
      groups[g].depends.set(h);
      groups[g].depends |= groups[h].depends;
      grew = true;
    }
    // A group that already depended on g now also depends on what g gained.
    if (grew && joined >= 0)
      for (Group &other : groups)
        if (other.depends.test(g))
          other.depends |= groups[g].depends;
  }

  // 2. Dependencies first.
  SmallVector<int> order;
  for (int g = 0; g < int(groups.size()); ++g)
    order.push_back(g);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
    return groups[a].depends.count() < groups[b].depends.count();
  });

  // 3. Outline.
  Operation *terminator = block.getTerminator();
  OpBuilder builder(terminator);
  for (int g : order) {
    Group &group = groups[g];
    if (group.staysOutside) {
      group.ops.front()->moveBefore(terminator);
      continue;
    }
    llvm::SmallPtrSet<Operation *, 16> members(group.ops.begin(), group.ops.end());
    SmallVector<Value> inputs, outputs;
    for (Operation *op : group.ops) {
      for (Value operand : op->getOperands()) {
        if (isWeightView(operand.getDefiningOp())) {
          for (Value packed : operand.getDefiningOp()->getOperands())
            if (!llvm::is_contained(inputs, packed))
              inputs.push_back(packed);
          continue;
        }
        if (!members.count(operand.getDefiningOp()) && !isInlinableConstant(operand) &&
            !llvm::is_contained(inputs, operand))
          inputs.push_back(operand);
      }
      for (Value result : op->getResults())
        if (llvm::any_of(result.getUsers(),
                         [&](Operation *user) { return !members.count(user); }))
          outputs.push_back(result);
    }
    std::string name = "k" + std::to_string(kernelIndex++);
    for (Operation *op : llvm::ArrayRef(group.ops).take_front(3))
      name += "_" + op->getName().stripDialect().str();
    SmallVector<Type> resultTypes;
    for (Value output : outputs)
      resultTypes.push_back(output.getType());
    auto kernel = KernelOp::create(builder, group.ops.front()->getLoc(), name, resultTypes,
                                   inputs);
    Block &body = kernel.getBody().front();
    OpBuilder inner = OpBuilder::atBlockEnd(&body);
    IRMapping mapping;
    for (auto [input, arg] : llvm::zip(inputs, body.getArguments()))
      mapping.map(input, arg);
    for (Operation *op : group.ops) {
      for (Value operand : op->getOperands())
        if (!mapping.contains(operand) &&
            (isInlinableConstant(operand) || isWeightView(operand.getDefiningOp())))
          mapping.map(operand, inner.clone(*operand.getDefiningOp(), mapping)->getResult(0));
      inner.clone(*op, mapping);
    }
    SmallVector<Value> yielded;
    for (Value output : outputs)
      yielded.push_back(mapping.lookup(output));
    YieldOp::create(inner, kernel.getLoc(), yielded);
    for (auto [output, result] : llvm::zip(outputs, kernel.getResults()))
      output.replaceUsesWithIf(result, [&](OpOperand &use) {
        return !members.count(use.getOwner());
      });
    for (Operation *op : llvm::reverse(group.ops))
      op->erase();
  }
  // A returned constant (a Shape output, a folded subgraph) needs a buffer of its own:
  // a kernel that writes it. A branch of a kiln.if yields into its result's buffer, so
  // each value it yields must be a result of a kernel (or a nested if) of the branch,
  // yielded once; others (constants, outer values, views, repeats) are copied by a kernel.
  bool branch = isa<YieldOp>(terminator);
  llvm::SmallPtrSet<Value, 8> yielded;
  if (isa<LoopOp>(block.getParentOp())) {
    prepareLoopYield(block, builder, kernelIndex);
  } else {
    for (OpOperand &operand : terminator->getOpOperands()) {
      Value value = operand.get();
      Operation *producer = value.getDefiningOp();
      bool own = isa_and_nonnull<KernelOp, IfOp>(producer) && producer->getBlock() == &block &&
                 yielded.insert(value).second;
      if (value.getDefiningOp<ConstantOp>() || (branch && !own))
        operand.set(copyKernel(builder, value, kernelIndex));
    }
  }
  // A loop's initial condition and carried values are written into its state buffers
  // before it starts: by their own kernel when the loop is its only reader, else by a copy.
  for (Operation &op : block)
    if (auto loop = dyn_cast<LoopOp>(op)) {
      builder.setInsertionPoint(loop);
      for (OpOperand &operand : loop->getOpOperands().drop_front()) {
        auto producer = operand.get().getDefiningOp<KernelOp>();
        if (!producer || producer->getBlock() != &block || !operand.get().hasOneUse())
          operand.set(copyKernel(builder, operand.get(), kernelIndex));
      }
      builder.setInsertionPoint(terminator);
    }
  // Weight views and constants that only fed cloned copies are dead now.
  SmallVector<Operation *> views;
  for (Operation &op : block.without_terminator())
    if (isWeightView(&op))
      views.push_back(&op);
  for (Operation *op : views)
    if (op->use_empty())
      op->erase();
  for (Operation &op : llvm::make_early_inc_range(block.without_terminator()))
    if (isa<ConstantOp>(op) && op.use_empty())
      op.erase();
  for (Operation &op : block)
    for (Region &region : op.getRegions())
      if (isa<IfOp, LoopOp>(op))
        formKernels(region.front(), maxDepth, kernelIndex);
}

struct FormKernelsPass : impl::FormKernelsPassBase<FormKernelsPass> {
  using FormKernelsPassBase::FormKernelsPassBase;
  void runOnOperation() override {
    func::FuncOp func = getOperation();
    if (!func.getBody().hasOneBlock()) {
      func.emitError("kernel formation expects a single-block function");
      return signalPassFailure();
    }
    int kernelIndex = 0;
    formKernels(func.getBody().front(), maxDepth, kernelIndex);
  }
};

} // namespace
} // namespace kiln
