//===- PlanMemory.cpp - place every tensor in one arena -------------------===//
//
// The runtime allocates one arena before the first run and never again; this pass decides
// where in it each tensor lives.
//
// 1. Number the kernels and views in order. A buffer is born at its producer and dies at
//    its last reader; function arguments are alive for the whole run (a caller may run
//    again on the same inputs) and returned values die after the last kernel. A reshape is a
//    view: it shares its input's buffer, whose life it extends. So is an in-place
//    concatenation (kiln-concat-in-place): its inputs' producers write into slices of its
//    buffer, which is born with the first of them.
//    A kiln.if's branches are numbered one after the other (only one of them runs); its
//    results' buffers are born at the if and each branch's kernels write them directly.
//    A kiln.loop's body is numbered once; what the body reads from before the loop (and
//    the loop's states) lives until the loop ends, since the body runs again.
// 2. Place buffers by decreasing size (ties: earlier birth first) at the lowest aligned
//    offset that overlaps no placed buffer alive at the same time. Greedy-by-size is
//    within a few percent of the liveness lower bound on real models.
//
//===----------------------------------------------------------------------===//
#include "dialects/kiln/Transforms/Passes.h"

#include "dialects/kiln/IR/KilnConstants.h"
#include "dialects/kiln/IR/KilnOps.h"
#include "mlir/IR/Builders.h"
#include "llvm/ADT/DenseMap.h"
#include <algorithm>
#include <functional>
#include "llvm/Support/CheckedArithmetic.h"
#include "llvm/Support/FormatVariadic.h"
#include <limits>
#include <optional>

namespace kiln {
#define GEN_PASS_DEF_PLANMEMORYPASS
#include "dialects/kiln/Transforms/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace kiln {
namespace {

struct Buffer {
  int64_t size = 0;
  int64_t birth = 0, death = 0;
  int64_t offset = -1;
};

/// Bytes of `value`'s tensor; std::nullopt when the count overflows int64.
std::optional<int64_t> byteSize(Value value) {
  auto type = llvm::cast<RankedTensorType>(value.getType());
  std::optional<int64_t> bytes = elementByteSize(type.getElementType());
  for (int64_t dim : type.getShape()) {
    if (!bytes || dim < 0)
      return std::nullopt;
    bytes = llvm::checkedMul(*bytes, dim);
  }
  return bytes;
}

std::string humanBytes(int64_t bytes) {
  if (bytes < (int64_t(1) << 20))
    return std::to_string(bytes) + " bytes";
  if (bytes < (int64_t(1) << 30))
    return llvm::formatv("{0:F1} MiB", double(bytes) / double(1 << 20)).str();
  return llvm::formatv("{0:F2} GiB", double(bytes) / double(int64_t(1) << 30)).str();
}

struct PlanMemoryPass : impl::PlanMemoryPassBase<PlanMemoryPass> {
  using PlanMemoryPassBase::PlanMemoryPassBase;

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    Block &block = func.getBody().front();
    std::vector<Buffer> buffers;
    llvm::DenseMap<Value, int> bufferOf;
    llvm::DenseMap<Value, int64_t> offsetIn;  // a view's byte offset in its buffer
    // In-place concatenations: each input's producing kernel result -> (the concatenation,
    // the byte offset of its slice).
    llvm::DenseMap<Value, std::pair<Value, int64_t>> sliceOf;
    for (Operation &op : block) {
      auto concat = dyn_cast<ConcatOp>(op);
      if (!concat)
        continue;
      if (!concat->hasAttr("kiln.in_place")) {
        op.emitError("a concatenation outside a kernel that is not in place");
        return signalPassFailure();
      }
      int64_t offset = 0;
      for (Value input : concat.getInputs()) {
        Value root = input;
        while (auto reshape = root.getDefiningOp<ReshapeOp>())
          root = reshape.getInput();
        std::optional<int64_t> bytes = byteSize(input);
        if (!root.getDefiningOp<KernelOp>() || !bytes ||
            !sliceOf.try_emplace(root, concat.getResult(), offset).second) {
          op.emitError("an in-place concatenation's input is not a kernel result of its own");
          return signalPassFailure();
        }
        offset += *bytes;
      }
    }
    // Sizes are checked against the limit (at most 2^62) as they are computed, so no sum
    // below overflows: offsets stay within the arena checked after each placement, and
    // buffers alive at one step are disjoint, so their sum is at most the arena.
    auto inputNames = func->getAttrOfType<ArrayAttr>("kiln.input_names");
    auto newBuffer = [&](Value value, int64_t birth, Operation *owner) {
      std::optional<int64_t> bytes = byteSize(value);
      if (!bytes || *bytes > maxBytes - alignment) {
        std::string what = "a tensor";
        if (auto arg = llvm::dyn_cast<BlockArgument>(value))
          if (inputNames && arg.getArgNumber() < inputNames.size())
            if (auto name = llvm::dyn_cast<StringAttr>(inputNames[arg.getArgNumber()]))
              what = "input '" + name.str() + "'";
        owner->emitError() << what << " of type " << value.getType() << " needs "
                           << (bytes ? humanBytes(*bytes) : std::string("over 2^63 bytes"))
                           << ", over the arena limit of " << humanBytes(maxBytes)
                           << " (raise it with --max-arena-bytes)";
        return false;
      }
      int64_t size = (*bytes + alignment - 1) / alignment * alignment;
      bufferOf[value] = int(buffers.size());
      buffers.push_back({std::max<int64_t>(size, alignment), birth, birth});
      return true;
    };
    if (maxBytes <= 0 || maxBytes > (int64_t(1) << 62) || alignment <= 0) {
      func.emitError("kiln-plan-memory: max-bytes must be in (0, 2^62] and alignment positive");
      return signalPassFailure();
    }

    // 1. Live ranges.
    // Inputs stay alive for the whole run: a caller may run the model again on the same
    // inputs without writing them anew (the benchmark loop does).
    for (BlockArgument arg : block.getArguments()) {
      if (!newBuffer(arg, -1, func))
        return signalPassFailure();
      buffers.back().death = std::numeric_limits<int64_t>::max();
    }
    // Ops are numbered in program order, a kiln.if's then branch before its else branch.
    // Only one branch runs, so a buffer of one branch may share memory with the other's.
    // An if's results are born at the if; each value a branch yields is its kernel's (or
    // nested if's) result written straight into the if result's buffer (kiln-form-kernels
    // made every yielded value such a result of its branch, yielded once).
    llvm::DenseMap<Value, Value> yieldedInto;  // a branch's yielded value -> the if result
    // A kiln.loop's states (its condition and carried values) each have one buffer, made
    // by the kernel that writes its initial value (kiln-form-kernels gave every state a
    // kernel of its own before the loop) and written by the body's kernels that yield
    // into it; the body's block arguments and the loop's results read it.
    bool statesOk = true;
    func.walk([&](LoopOp loop) {
      Block &body = loop.getBody().front();
      for (auto [operand, arg] : llvm::zip(loop->getOperands().drop_front(),
                                           body.getArguments().drop_front())) {
        if (!operand.getDefiningOp<KernelOp>() || !yieldedInto.try_emplace(operand, arg).second)
          statesOk = false;
      }
      for (auto [value, arg] : llvm::zip(body.getTerminator()->getOperands(),
                                         body.getArguments().drop_front())) {
        if (value == arg)
          continue;
        auto producer = value.getDefiningOp<KernelOp>();
        if (!producer || producer->getBlock() != &body || !yieldedInto.try_emplace(value, arg).second)
          statesOk = false;
      }
    });
    if (!statesOk) {
      func.emitError("a loop's state is not written by a kernel of its own (internal error: "
                     "kiln-form-kernels copies those)");
      return signalPassFailure();
    }
    int64_t time = 0;
    std::function<bool(Block &)> number = [&](Block &current) {
      for (Operation &op : current) {
        for (Value operand : op.getOperands()) {
          auto it = bufferOf.find(operand);
          if (it != bufferOf.end())
            buffers[it->second].death = std::max(buffers[it->second].death, time);
        }
        if (isa<func::ReturnOp>(op)) {
          for (Value operand : op.getOperands()) {
            auto it = bufferOf.find(operand);
            if (it == bufferOf.end()) {
              op.emitError("returned value is not produced by a kernel or argument");
              return false;
            }
            buffers[it->second].death = std::numeric_limits<int64_t>::max();
            // A length known at run time is read with the output, after the run.
            if (auto extent = operand.getDefiningOp<WithExtentOp>())
              buffers[bufferOf.lookup(extent.getExtent())].death =
                  std::numeric_limits<int64_t>::max();
          }
        } else if (auto ifOp = dyn_cast<IfOp>(op)) {
          if (!bufferOf.count(ifOp.getCondition())) {
            op.emitError("an if's condition has no buffer (internal error)");
            return false;
          }
          for (Value result : ifOp.getResults()) {
            if (auto into = yieldedInto.find(result); into != yieldedInto.end())
              bufferOf[result] = bufferOf[into->second];  // a nested if: the outer result
            else if (!newBuffer(result, time, &op))
              return false;
          }
          for (Block *branch : {&ifOp.thenBlock(), &ifOp.elseBlock()})
            for (auto [value, result] :
                 llvm::zip(branch->getTerminator()->getOperands(), ifOp.getResults())) {
              Operation *producer = value.getDefiningOp();
              if (!isa_and_nonnull<KernelOp, IfOp>(producer) || producer->getBlock() != branch ||
                  !yieldedInto.try_emplace(value, result).second) {
                op.emitError("a branch yields a value that is not its own kernel's or if's result "
                             "(internal error: kiln-form-kernels copies those)");
                return false;
              }
            }
          ++time;
          if (!number(ifOp.thenBlock()) || !number(ifOp.elseBlock()))
            return false;
          continue;
        } else if (auto loop = dyn_cast<LoopOp>(op)) {
          Block &body = loop.getBody().front();
          for (auto [k, arg] : llvm::enumerate(body.getArguments().drop_front())) {
            if (!bufferOf.count(arg)) {
              op.emitError("a loop state has no buffer (internal error)");
              return false;
            }
            if (k > 0)
              bufferOf[loop.getResult(k - 1)] = bufferOf[arg];
          }
          if (!newBuffer(body.getArgument(0), time, &op))  // the iteration number
            return false;
          int64_t start = time++;
          if (!number(body))
            return false;
          // The body runs again and again: what it reads from before the loop, the states
          // and the trip count (read after every iteration) live until the loop ends.
          auto keep = [&](Value value) {
            auto it = bufferOf.find(value);
            if (it != bufferOf.end() && buffers[it->second].birth <= start)
              buffers[it->second].death = std::max(buffers[it->second].death, time);
          };
          keep(loop.getMaxTripCount());
          for (Value arg : body.getArguments())
            keep(arg);
          body.walk([&](Operation *inner) {
            for (Value operand : inner->getOperands())
              keep(operand);
          });
          continue;
        } else if (auto extent = dyn_cast<WithExtentOp>(op)) {
          if (!bufferOf.count(extent.getInput()) || !bufferOf.count(extent.getExtent())) {
            op.emitError("a varying-length output with no buffer (internal error)");
            return false;
          }
          bufferOf[extent.getResult()] = bufferOf[extent.getInput()];
        } else if (auto reshape = dyn_cast<ReshapeOp>(op)) {
          auto it = bufferOf.find(reshape.getInput());
          if (it == bufferOf.end()) {
            op.emitError("reshape of a value that has no buffer");
            return false;
          }
          bufferOf[reshape.getResult()] = it->second;
          offsetIn[reshape.getResult()] = offsetIn.lookup(reshape.getInput());
        } else if (auto concat = dyn_cast<ConcatOp>(op)) {
          // Its buffer was made by the first input's producer.
          auto it = bufferOf.find(concat.getResult());
          if (it == bufferOf.end()) {
            op.emitError("an in-place concatenation with no buffer (internal error)");
            return false;
          }
        } else if (isa<KernelOp>(op) || isHostOp(&op)) {
          for (Value result : op.getResults()) {
            if (auto into = yieldedInto.find(result); into != yieldedInto.end()) {
              // An if's result (made at the if) or a loop's state (made here, by the
              // kernel that writes its initial value).
              if (!bufferOf.count(into->second) && !newBuffer(into->second, time, &op))
                return false;
              bufferOf[result] = bufferOf[into->second];
              continue;
            }
            auto slice = sliceOf.find(result);
            if (slice == sliceOf.end()) {
              if (!newBuffer(result, time, &op))
                return false;
              continue;
            }
            auto [concat, offset] = slice->second;
            if (!bufferOf.count(concat) && !newBuffer(concat, time, &op))
              return false;
            bufferOf[result] = bufferOf[concat];
            offsetIn[result] = offset;
          }
        }
        ++time;
      }
      return true;
    };
    if (!number(block))
      return signalPassFailure();

    // 2. Placement.
    std::vector<int> order(buffers.size());
    for (size_t i = 0; i < order.size(); ++i)
      order[i] = int(i);
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
      if (buffers[a].size != buffers[b].size)
        return buffers[a].size > buffers[b].size;
      return buffers[a].birth < buffers[b].birth;
    });
    std::vector<int> placed;
    int64_t arenaSize = 0;
    for (int index : order) {
      Buffer &buffer = buffers[index];
      std::vector<std::pair<int64_t, int64_t>> busy;  // [offset, end) of overlapping buffers
      for (int other : placed) {
        const Buffer &o = buffers[other];
        if (o.birth <= buffer.death && buffer.birth <= o.death)
          busy.push_back({o.offset, o.offset + o.size});
      }
      std::sort(busy.begin(), busy.end());
      int64_t offset = 0;
      for (auto [begin, end] : busy) {
        if (offset + buffer.size <= begin)
          break;
        offset = std::max(offset, end);
      }
      buffer.offset = offset;
      arenaSize = std::max(arenaSize, offset + buffer.size);
      placed.push_back(index);
      if (arenaSize > maxBytes) {
        func.emitError() << "the arena needs more than " << humanBytes(maxBytes)
                         << " (the limit; raise it with --max-arena-bytes)";
        return signalPassFailure();
      }
    }

    // The liveness lower bound: the most bytes alive at any one step. No placement can use
    // less; greedy-by-size typically lands within a few percent.
    int64_t lowerBound = 0;
    for (int64_t step = -1; step < time; ++step) {
      int64_t alive = 0;
      for (const Buffer &b : buffers)
        if (b.birth <= step && step <= b.death)
          alive += b.size;
      lowerBound = std::max(lowerBound, alive);
    }

    // Record the plan.
    Builder builder(func.getContext());
    auto offsetsOf = [&](ValueRange values) {
      SmallVector<int64_t> offsets;
      for (Value value : values)
        offsets.push_back(buffers[bufferOf.lookup(value)].offset + offsetIn.lookup(value));
      return builder.getDenseI64ArrayAttr(offsets);
    };
    func.walk([&](Operation *op) {
      if (isa<KernelOp, ReshapeOp, ConcatOp, IfOp, LoopOp, WithExtentOp>(op) || isHostOp(op))
        op->setAttr("kiln.arena_offsets", offsetsOf(op->getResults()));
      if (auto loop = dyn_cast<LoopOp>(op))  // its iteration number and condition
        op->setAttr("kiln.loop_offsets",
                    offsetsOf(loop.getBody().front().getArguments().take_front(2)));
      return isa<KernelOp>(op) ? WalkResult::skip() : WalkResult::advance();
    });
    SmallVector<Value> args(block.getArguments().begin(), block.getArguments().end());
    func->setAttr("kiln.arg_offsets", offsetsOf(args));
    func->setAttr("kiln.result_offsets", offsetsOf(block.getTerminator()->getOperands()));
    func->setAttr("kiln.arena_size", builder.getI64IntegerAttr(arenaSize));
    func->setAttr("kiln.arena_lower_bound", builder.getI64IntegerAttr(lowerBound));
  }
};

} // namespace
} // namespace kiln
