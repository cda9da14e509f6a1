//===- Artifact.cpp - from a planned module to an artifact and its weights ===//
//
// Orchestrates the four parts (Artifact.h): walks the planned function once, collecting
// weights and kernel calls; compiles each distinct kernel with its plan (cached by content);
// writes the glue, the GGUF weights and the linked output in a temporary directory beside
// the output, moved into place only when everything succeeded.
//
//===----------------------------------------------------------------------===//
#include "compiler/codegen/Artifact.h"

#include "compiler/codegen/ArtifactParts.h"
#include "compiler/codegen/ObjectCache.h"
#include "dialects/kiln/IR/KilnConstants.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/Signals.h"
#include "llvm/Support/raw_ostream.h"
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <dirent.h>
#include <fstream>
#include <unistd.h>
#include <map>
#include <optional>

using namespace mlir;

namespace kiln {

const char *outputKindName(OutputKind kind) {
  switch (kind) {
  case OutputKind::Executable: return "exe";
  case OutputKind::StaticLibrary: return "static-lib";
  case OutputKind::SharedLibrary: return "shared-lib";
  }
  return "?";
}

ElementInfo elementInfo(Type type) {
  if (type.isF32()) return {KILN_DTYPE_F32, GGML_F32, 2, 32};
  if (type.isF16()) return {KILN_DTYPE_F16, GGML_F16, 2, 16};
  if (type.isF64()) return {KILN_DTYPE_F64, GGML_F64, 2, 64};
  auto i = llvm::cast<IntegerType>(type);
  bool u = i.isUnsigned();
  switch (i.getWidth()) {
  case 1: return {KILN_DTYPE_BOOL, GGML_I8, 1, 1};
  case 8: return {u ? KILN_DTYPE_U8 : KILN_DTYPE_I8, GGML_I8, u ? 1 : 0, 8};
  case 16: return {u ? KILN_DTYPE_U16 : KILN_DTYPE_I16, GGML_I16, u ? 1 : 0, 16};
  case 32: return {u ? KILN_DTYPE_U32 : KILN_DTYPE_I32, GGML_I32, u ? 1 : 0, 32};
  default: return {u ? KILN_DTYPE_U64 : KILN_DTYPE_I64, GGML_I64, u ? 1 : 0, 64};
  }
}

std::string cString(const std::string &s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\' || c == '?') out += '\\', out += c;  // '?': no trigraphs
    else if (isprint(static_cast<unsigned char>(c))) out += c;
    else {
      char buf[8];
      snprintf(buf, sizeof buf, "\\%03o", static_cast<unsigned char>(c));
      out += buf;
    }
  }
  return out + "\"";
}

bool runCommand(const std::vector<std::string> &argv, bool verbose, std::string &error) {
  std::vector<llvm::StringRef> args(argv.begin(), argv.end());
  auto program = llvm::sys::findProgramByName(argv[0]);
  if (!program) {
    error = "cannot find " + argv[0] + " on PATH (install it or pick another target)";
    return false;
  }
  if (verbose) {
    std::string line;
    for (const auto &a : argv) line += a + " ";
    llvm::errs() << "[kiln] " << line << "\n";
  }
  std::string message;
  int rc = llvm::sys::ExecuteAndWait(*program, args, std::nullopt, {}, 0, 0, &message);
  if (rc != 0) {
    error = argv[0] + " failed (exit " + std::to_string(rc) + ")" +
            (message.empty() ? "" : ": " + message);
    return false;
  }
  return true;
}

namespace {

/// The temporary directory of the build in progress, removed if kiln is interrupted
/// (SIGINT, SIGTERM...), so an interrupted compile leaves nothing behind. Fixed storage:
/// the interrupt handler reads it.
char interruptTempDir[4096];

/// Removes `path` and everything under it with only system calls and a fixed buffer (it
/// runs in a signal handler; readdir is not formally async-signal-safe, but the compiler is
/// then waiting for a child or a tool, not inside malloc).
void removeTree(char *path, size_t length, size_t capacity) {
  if (unlink(path) == 0)
    return;
  if (errno != EISDIR && errno != EPERM)  // (EPERM: how some systems refuse a directory)
    return;
  if (DIR *dir = opendir(path)) {
    while (struct dirent *entry = readdir(dir)) {
      const char *name = entry->d_name;
      if (!std::strcmp(name, ".") || !std::strcmp(name, ".."))
        continue;
      size_t nameLength = std::strlen(name);
      if (length + 1 + nameLength + 1 > capacity)
        continue;
      path[length] = '/';
      std::memcpy(path + length + 1, name, nameLength + 1);
      removeTree(path, length + 1 + nameLength, capacity);
      path[length] = '\0';
    }
    closedir(dir);
  }
  rmdir(path);
}

void onInterrupt() {
  killCompileJobs();
  if (interruptTempDir[0]) {
    static char path[sizeof interruptTempDir + 512];
    size_t length = std::strlen(interruptTempDir);
    std::memcpy(path, interruptTempDir, length + 1);
    removeTree(path, length, sizeof path);
  }
  _exit(130);
}

uint64_t fnv1a(uint64_t hash, const void *data, size_t size) {
  const unsigned char *p = static_cast<const unsigned char *>(data);
  for (size_t i = 0; i < size; ++i) {
    hash ^= p[i];
    hash *= 1099511628211ull;
  }
  return hash;
}

RankedTensorType tensorType(Value v) { return llvm::cast<RankedTensorType>(v.getType()); }

/// The kernel's region as text: ops, attributes and shapes, without its name and arena
/// offsets (which do not change its code).
std::string kernelText(KernelOp kernel) {
  Operation *copy = kernel->clone();
  copy->setAttr("sym_name", StringAttr::get(kernel.getContext(), "k"));
  copy->removeAttr("kiln.arena_offsets");
  std::string text;
  llvm::raw_string_ostream os(text);
  copy->print(os, OpPrintingFlags().printGenericOpForm());
  copy->destroy();
  return text;
}

/// The key plans are filed under: the region and the target, but not the compiler binary,
/// so tuned plans survive rebuilding kiln.
std::string planKey(const std::string &region, const TargetInfo &target) {
  return contentHash(target.name + "\n" + target.halideTarget + "\n" + region).substr(0, 32);
}

/// What determines a kernel's object code: region, target, plan and the compiler binary.
std::string objectKey(const std::string &region, const TargetInfo &target,
                      const KernelPlan *plan) {
  return contentHash(compilerIdentity() + target.name + target.halideTarget +
                     target.integerDotTarget + (plan ? planJson(*plan) : std::string()) +
                     region);
}

} // namespace

int64_t Weights::indexOf(ConstantOp constant) {
  auto it = indices.find(constant.getResult());
  if (it != indices.end())
    return it->second;
  std::string base = "const";
  if (auto resource = llvm::dyn_cast<DenseResourceElementsAttr>(constant.getValue()))
    base = resource.getRawHandle().getKey().str();
  if (auto name = constant->getAttrOfType<StringAttr>("kiln.name"))
    base = name.str();
  if (base.size() > 56)
    base = base.substr(0, 40) + "_" + std::to_string(std::hash<std::string>()(base) % 100000);
  std::string name = base;
  for (int i = 1; names.count(name); ++i)
    name = base + "." + std::to_string(i);
  names.insert(name);
  GgufTensor tensor;
  tensor.name = name;
  auto type = tensorType(constant.getResult());
  tensor.type = elementInfo(type.getElementType()).ggmlType;
  tensor.dims.assign(type.getShape().begin(), type.getShape().end());
  // Quantized weights are GGML-typed tensors of [rows, row length] values.
  if (auto ggmlType = constant->getAttrOfType<IntegerAttr>("kiln.ggml_type")) {
    tensor.type = uint32_t(ggmlType.getInt());
    auto dims = constant->getAttrOfType<DenseI64ArrayAttr>("kiln.ggml_dims");
    tensor.dims.assign(dims.asArrayRef().begin(), dims.asArrayRef().end());
  }
  tensor.data = constantBytes(constant.getValue());
  hash = fnv1a(hash, name.data(), name.size());
  hash = fnv1a(hash, tensor.data.data(), tensor.data.size());
  list.push_back(std::move(tensor));
  int64_t index = int64_t(list.size()) - 1;
  indices[constant.getResult()] = index;
  return index;
}

std::string Weights::fingerprint() const {
  char text[32];
  snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(hash));
  return text;
}

uint64_t Weights::totalBytes() const {
  uint64_t bytes = 0;
  for (const GgufTensor &t : list)
    bytes += t.data.size();
  return bytes;
}

std::vector<std::pair<std::string, std::string>> kernelPlanKeys(ModuleOp module,
                                                                const TargetInfo &target) {
  std::vector<std::pair<std::string, std::string>> keys;
  module.walk([&](KernelOp kernel) {
    keys.push_back({kernel.getSymName().str(), planKey(kernelText(kernel), target)});
  });
  return keys;
}

/// Places each call's kernel scratch (`bytes[i]` for call i) in the arena: at the lowest
/// 64-byte aligned offset that overlaps no arena range live during the call. A range is
/// live from the first call that touches it to the last; the program's inputs and outputs
/// (and the run lengths of varying-length outputs) for the whole run (the caller writes and
/// reads them between runs). Returns the end of
/// the highest range placed.
static uint64_t placeKernelScratch(const ProgramTables &tables, const std::vector<uint64_t> &bytes,
                            std::vector<std::pair<uint64_t, uint64_t>> &placed) {
  struct Live {
    int first, last;
  };
  std::map<std::pair<uint64_t, uint64_t>, Live> ranges;  // (begin, end) -> calls
  auto touch = [&](uint64_t offset, uint64_t size, int call) {
    if (size == 0)
      return;
    auto [it, inserted] = ranges.try_emplace({offset, offset + size}, Live{call, call});
    it->second.first = std::min(it->second.first, call);
    it->second.last = std::max(it->second.last, call);
  };
  auto byteSize = [](mlir::RankedTensorType type) {
    return uint64_t(type.getNumElements()) * elementByteSize(type.getElementType());
  };
  int calls = int(tables.calls.size());
  for (int i = 0; i < calls; ++i)
    for (const auto *list : {&tables.calls[i].inputs, &tables.calls[i].results})
      for (const CallArgument &arg : *list)
        if (!arg.buffer.isWeight)
          touch(uint64_t(arg.buffer.location), byteSize(arg.type), i);
  for (const auto *list : {&tables.inputs, &tables.outputs})
    for (const ProgramIo &io : *list) {
      touch(uint64_t(io.arenaOffset), byteSize(io.type), -1);
      touch(uint64_t(io.arenaOffset), byteSize(io.type), calls);
      if (io.extent) {  // an output's run length is read with it, after the run
        touch(uint64_t(io.extent->second), 8, -1);
        touch(uint64_t(io.extent->second), 8, calls);
      }
    }
  // An in-place concatenation's slices are written before the whole is read: the data
  // in a range lives as long as any range that contains it or that it contains is live.
  for (auto &[outer, outerLive] : ranges)
    for (const auto &[inner, innerLive] : ranges)
      if (inner != outer && outer.first <= inner.first && inner.second <= outer.second) {
        outerLive.first = std::min(outerLive.first, innerLive.first);
        outerLive.last = std::max(outerLive.last, innerLive.last);
      }
  uint64_t end = 0;
  placed.assign(calls, {0, 0});
  for (int i = 0; i < calls; ++i) {
    if (bytes[i] == 0)
      continue;
    std::vector<std::pair<uint64_t, uint64_t>> busy;
    for (const auto &[range, live] : ranges)
      if (live.first <= i && i <= live.last)
        busy.push_back(range);
    std::sort(busy.begin(), busy.end());
    uint64_t offset = 0;
    for (const auto &[begin, stop] : busy) {
      if (offset + bytes[i] <= begin)
        break;
      offset = std::max(offset, (stop + 63) / 64 * 64);
    }
    placed[i] = {offset, bytes[i]};
    end = std::max(end, offset + bytes[i]);
  }
  return end;
}

bool buildArtifact(ModuleOp module, const ArtifactOptions &options, std::string &error) {
  auto func = module.lookupSymbol<func::FuncOp>("main");
  if (!func) {
    error = "module has no @main function";
    return false;
  }
  Block &block = func.getBody().front();
  auto argOffsets = func->getAttrOfType<DenseI64ArrayAttr>("kiln.arg_offsets");
  auto arenaSize = func->getAttrOfType<IntegerAttr>("kiln.arena_size");
  if (!argOffsets || !arenaSize) {
    error = "module was not memory-planned";
    return false;
  }
  const TargetInfo &target = options.target;
  RuntimeNeeds needs = target.backend->runtimeNeeds(target);

  // A temporary directory beside the output.
  llvm::SmallString<256> tempDir;
  std::string outputDir = llvm::sys::path::parent_path(options.outputPath).str();
  if (outputDir.empty())
    outputDir = ".";
  if (auto ec = llvm::sys::fs::create_directories(outputDir)) {
    error = "cannot create " + outputDir + ": " + ec.message();
    return false;
  }
  if (auto ec = llvm::sys::fs::createUniqueDirectory(
          outputDir + "/." + llvm::sys::path::filename(options.outputPath).str() + ".kiln",
          tempDir)) {
    error = "cannot create a temporary directory in " + outputDir + ": " + ec.message();
    return false;
  }
  if (tempDir.size() < sizeof interruptTempDir && !options.keepTemps) {
    std::memcpy(interruptTempDir, tempDir.c_str(), tempDir.size() + 1);
    llvm::sys::SetInterruptFunction(onInterrupt);
  }
  auto cleanup = [&] {
    llvm::sys::SetInterruptFunction(nullptr);
    interruptTempDir[0] = '\0';
    if (!options.keepTemps)
      llvm::sys::fs::remove_directories(tempDir);
  };
  auto failWith = [&](const std::string &message) {
    error = message;
    cleanup();
    return false;
  };

  // 1 + 2. Walk the function: buffers of every value, weights, and the kernel calls.
  llvm::DenseMap<Value, BufferRef> buffers;
  for (auto [arg, offset] : llvm::zip(block.getArguments(), argOffsets.asArrayRef()))
    buffers[arg] = {false, offset};
  Weights weights;
  ProgramTables tables;

  // Halide work is collected first and run in child processes (CompileJobs.cpp).
  ObjectCache cache = ObjectCache::fromEnvironment();
  std::vector<CompileJob> jobs;
  std::string runtimeKey =
      "halide-runtime-" + contentHash(compilerIdentity() + target.halideTarget) + ".o";
  std::string runtimeObject;
  bool freestanding = target.freestanding;
  if (freestanding) {
    // Kernels call no Halide runtime: the freestanding runtime defines their hooks.
  } else if (auto cached = cache.lookup(runtimeKey)) {
    runtimeObject = *cached;
  } else {
    runtimeObject = (tempDir + "/halide_runtime.o").str();
    CompileJob job;
    job.kind = CompileJob::Kind::Runtime;
    job.objectPath = runtimeObject;
    job.errorPath = runtimeObject + ".error";
    jobs.push_back(job);
  }
  std::vector<std::string> objects;
  if (!runtimeObject.empty())
    objects.push_back(runtimeObject);
  // Freestanding: each kernel's scratch peak, in a file beside its object (ArenaScratch.h).
  std::map<std::string, std::string> scratchFiles;  // symbol -> file
  std::set<std::string> compiledSymbols, plannedKeys;
  std::map<std::string, std::string> keyOfPlanPath;  // plan file -> plan key
  std::vector<KernelPlan> givenPlans;                 // --plans entries to emit as given
  int compiledCount = 0, reusedCount = 0, plannedFromFile = 0;
  // The program's steps in order: a kiln.if becomes a branch to its else steps when the
  // condition is false, its then steps, and a jump over the else steps; a kiln.loop an
  // entry that skips it when it runs zero times, its body's steps, and a step back to the
  // body while it runs.
  int ifCount = 0, loopCount = 0, hostCount = 0;
  std::string emitError;
  std::function<bool(Block &)> emitSteps = [&](Block &current) -> bool {
  for (Operation &op : current) {
    if (isHostOp(&op)) {  // run by the runtime on the host
      auto offsets = op.getAttrOfType<DenseI64ArrayAttr>("kiln.arena_offsets");
      KernelCall call;
      call.kind = KernelCall::Kind::HostOp;
      call.name = "host" + std::to_string(hostCount++) + "_" + op.getName().stripDialect().str();
      for (Value input : op.getOperands()) {
        BufferRef ref;
        if (auto constant = input.getDefiningOp<ConstantOp>()) {
          ref = {true, weights.indexOf(constant)};
        } else if (auto it = buffers.find(input); it != buffers.end()) {
          ref = it->second;
        } else {
          emitError = call.name + ": an input has no buffer (internal error)";
          return false;
        }
        call.inputs.push_back({tensorType(input), ref});
      }
      for (auto [result, offset] : llvm::zip(op.getResults(), offsets.asArrayRef())) {
        buffers[result] = {false, offset};
        call.results.push_back({tensorType(result), buffers[result]});
      }
      if (auto nms = dyn_cast<NonMaxSuppressionOp>(op)) {
        call.symbol = "kiln_host_non_max_suppression";
        call.parameters = {nms.getHasScoreThreshold(), nms.getCenterPointBox()};
      } else if (auto pool = dyn_cast<MaxPoolIndicesOp>(op)) {
        ArrayRef<int64_t> in = tensorType(pool.getInput()).getShape(),
                          out = tensorType(pool.getIndices()).getShape();
        call.symbol = "kiln_host_max_pool_indices";
        call.parameters = {in[0] * in[1], in[2], in[3], out[2], out[3], pool.getColumnMajor(),
                           pool.getKernel()[0], pool.getKernel()[1], pool.getStrides()[0],
                           pool.getStrides()[1], pool.getPads()[0], pool.getPads()[1],
                           pool.getDilations()[0], pool.getDilations()[1]};
      } else if (auto tfidf = dyn_cast<TfIdfOp>(op)) {
        ArrayRef<int64_t> shape = tensorType(tfidf.getInput()).getShape();
        call.symbol = "kiln_host_tfidf";
        call.parameters = {tensorType(tfidf.getInput()).getElementType().isInteger(64),
                           shape.size() == 2 ? shape[0] : 1, shape.back()};
        llvm::append_range(call.parameters, tfidf.getConfig());
        llvm::append_range(call.floatParameters, tfidf.getWeights());
      } else if (auto roi = dyn_cast<RoiAlignOp>(op)) {
        ArrayRef<int64_t> in = tensorType(roi.getInput()).getShape(),
                          out = tensorType(roi.getResult()).getShape();
        call.symbol = "kiln_host_roi_align";
        call.parameters = {in[0], in[1], in[2], in[3], out[0], out[2], out[3],
                           int64_t(roi.getSamplingRatio()), roi.getMaxMode(), roi.getHalfPixel()};
        call.floatParameters = {roi.getSpatialScale().convertToDouble()};
      } else if (auto det = dyn_cast<DetOp>(op)) {
        ArrayRef<int64_t> shape = tensorType(det.getInput()).getShape();
        int64_t n = shape.back();
        call.symbol = "kiln_host_det";
        call.parameters = {tensorType(det.getInput()).getNumElements() / std::max<int64_t>(n * n, 1),
                           n};
      } else if (auto unique = dyn_cast<UniqueOp>(op)) {
        // The input as [outer, length, inner] around the axis (flattened: [1, numel, 1]).
        ArrayRef<int64_t> shape = tensorType(unique.getInput()).getShape();
        int64_t axis = unique.getAxis(), outer = 1, inner = 1;
        for (int64_t d = 0; !unique.getFlatten() && d < int64_t(shape.size()); ++d) {
          if (d < axis)
            outer *= shape[d];
          if (d > axis)
            inner *= shape[d];
        }
        int64_t length = tensorType(unique.getIndices()).getShape()[0];
        call.symbol = "kiln_host_unique";
        call.parameters = {unique.getSorted(), outer, length, inner};
      } else {
        call.symbol = "kiln_host_nonzero";
      }
      tables.calls.push_back(std::move(call));
      continue;
    }
    if (isa<ReshapeOp, ConcatOp, WithExtentOp>(op)) {  // views: a reshape, an in-place
                                                         // concatenation, a varying length
      auto offsets = op.getAttrOfType<DenseI64ArrayAttr>("kiln.arena_offsets");
      buffers[op.getResult(0)] = {false, offsets[0]};
      continue;
    }
    if (auto ifOp = dyn_cast<IfOp>(op)) {
      auto offsets = op.getAttrOfType<DenseI64ArrayAttr>("kiln.arena_offsets");
      for (auto [result, offset] : llvm::zip(ifOp.getResults(), offsets.asArrayRef()))
        buffers[result] = {false, offset};
      auto condition = buffers.find(ifOp.getCondition());
      if (condition == buffers.end() || condition->second.isWeight) {
        emitError = "an if's condition has no arena buffer (internal error)";
        return false;
      }
      std::string label = "if" + std::to_string(ifCount++);
      KernelCall branch;
      branch.kind = KernelCall::Kind::BranchUnless;
      branch.name = label + ":else";
      branch.inputs.push_back({tensorType(ifOp.getCondition()), condition->second});
      size_t branchStep = tables.calls.size();
      tables.calls.push_back(branch);
      if (!emitSteps(ifOp.thenBlock()))
        return false;
      KernelCall jump;
      jump.kind = KernelCall::Kind::Jump;
      jump.name = label + ":end";
      size_t jumpStep = tables.calls.size();
      tables.calls.push_back(jump);
      tables.calls[branchStep].target = int(tables.calls.size());
      if (!emitSteps(ifOp.elseBlock()))
        return false;
      tables.calls[jumpStep].target = int(tables.calls.size());
      continue;
    }
    if (auto loop = dyn_cast<LoopOp>(op)) {
      Block &body = loop.getBody().front();
      auto offsets = op.getAttrOfType<DenseI64ArrayAttr>("kiln.arena_offsets");
      auto stateOffsets = op.getAttrOfType<DenseI64ArrayAttr>("kiln.loop_offsets");
      buffers[body.getArgument(0)] = {false, stateOffsets[0]};
      buffers[body.getArgument(1)] = {false, stateOffsets[1]};
      for (auto [k, offset] : llvm::enumerate(offsets.asArrayRef())) {
        buffers[loop.getResult(k)] = {false, offset};
        buffers[body.getArgument(k + 2)] = {false, offset};
      }
      std::string label = "loop" + std::to_string(loopCount++);
      KernelCall enter;
      enter.kind = KernelCall::Kind::LoopEnter;
      enter.name = label + ":enter";
      enter.inputs.push_back({tensorType(body.getArgument(1)), buffers[body.getArgument(1)]});
      enter.results.push_back({tensorType(body.getArgument(0)), buffers[body.getArgument(0)]});
      Value tripCount = loop.getMaxTripCount();
      if (auto constant = tripCount.getDefiningOp<ConstantOp>()) {
        auto values = readConstant(constant.getValue());
        if (!values || values->ints.size() != 1) {
          emitError = "a loop's trip count is not one integer (internal error)";
          return false;
        }
        enter.tripCount = values->ints[0];
      } else if (auto it = buffers.find(tripCount); it != buffers.end() && !it->second.isWeight) {
        enter.inputs.push_back({tensorType(tripCount), it->second});
      } else {
        emitError = "a loop's trip count has no arena buffer (internal error)";
        return false;
      }
      size_t enterStep = tables.calls.size();
      tables.calls.push_back(enter);
      size_t bodyStart = tables.calls.size();
      if (!emitSteps(body))
        return false;
      KernelCall next = enter;
      next.kind = KernelCall::Kind::LoopNext;
      next.name = label + ":next";
      next.target = int(bodyStart);
      next.iterationLimit = loop.getMaxIterations();
      tables.calls.push_back(next);
      tables.calls[enterStep].target = int(tables.calls.size());
      continue;
    }
    auto kernel = dyn_cast<KernelOp>(op);
    if (!kernel)
      continue;
    auto offsets = kernel->getAttrOfType<DenseI64ArrayAttr>("kiln.arena_offsets");
    // A kernel whose results are all empty has nothing to compute.
    if (llvm::all_of(kernel.getResultTypes(), [](Type type) {
          return llvm::cast<RankedTensorType>(type).getNumElements() == 0;
        })) {
      for (auto [result, offset] : llvm::zip(kernel.getResults(), offsets.asArrayRef()))
        buffers[result] = {false, offset};
      continue;
    }
    // Kernels are named by content: identical kernels share one object, here and across
    // builds (through the cache).
    std::string region = kernelText(kernel);
    std::string key = planKey(region, target);
    const KernelPlan *given = options.plans ? options.plans->find(key) : nullptr;
    plannedFromFile += given != nullptr;
    std::string symbol = "kiln_" + objectKey(region, target, given).substr(0, 24);
    std::string object = (tempDir + "/" + symbol + ".o").str();
    // --emit-plans: a given plan is written as given; others come back from the child
    // that compiles (or, for a cached object, plans) the kernel.
    bool wantPlan = !options.emitPlansPath.empty() && plannedKeys.insert(key).second;
    std::string planPath;
    if (wantPlan && given) {
      KernelPlan copy = *given;
      copy.key = key;
      copy.kernel = kernel.getSymName().str();
      givenPlans.push_back(copy);
    } else if (wantPlan) {
      planPath = (tempDir + "/" + symbol + ".plan.json").str();
      keyOfPlanPath[planPath] = key;
    }
    if (compiledSymbols.insert(symbol).second) {
      auto cached = cache.lookup(symbol + ".o");
      std::optional<std::string> cachedScratch;
      if (cached && freestanding) {
        cachedScratch = cache.lookup(symbol + ".scratch");
        if (!cachedScratch)
          cached.reset();  // compiled again for its scratch figure
      }
      if (freestanding)
        scratchFiles[symbol] = cachedScratch ? *cachedScratch : object + ".scratch";
      if (cached) {
        object = *cached;
        ++reusedCount;
        if (!planPath.empty()) {  // a cached kernel's plan is made again (no compile)
          CompileJob job;
          job.kind = CompileJob::Kind::Plan;
          job.kernel = kernel;
          job.name = kernel.getSymName().str();
          job.planPath = planPath;
          job.errorPath = planPath + ".error";
          jobs.push_back(job);
        }
      } else {
        CompileJob job;
        job.kind = CompileJob::Kind::Kernel;
        job.kernel = kernel;
        job.name = kernel.getSymName().str();
        job.symbol = symbol;
        job.plan = given;
        job.objectPath = object;
        job.planPath = planPath;
        job.errorPath = object + ".error";
        jobs.push_back(job);
        ++compiledCount;
      }
      objects.push_back(object);
    }

    KernelCall call;
    call.name = kernel.getSymName().str();
    call.symbol = symbol;
    for (Value input : kernel.getInputs()) {
      BufferRef ref;
      if (auto constant = input.getDefiningOp<ConstantOp>()) {
        ref = {true, weights.indexOf(constant)};
      } else {
        auto it = buffers.find(input);
        if (it == buffers.end()) {
          emitError = "kernel " + call.name + ": an input has no buffer (internal error)";
          return false;
        }
        ref = it->second;
      }
      call.inputs.push_back({tensorType(input), ref});
    }
    for (auto [result, offset] : llvm::zip(kernel.getResults(), offsets.asArrayRef())) {
      buffers[result] = {false, offset};
      call.results.push_back({tensorType(result), buffers[result]});
    }
    tables.calls.push_back(std::move(call));
  }
  return true;
  };
  if (!emitSteps(block))
    return failWith(emitError);
  size_t kernelCount = 0;
  func.walk([&](KernelOp) { ++kernelCount; });
  // Compile (and plan) in child processes, then keep the new objects in the cache.
  int kernelJobs = 0, done = 0;
  for (const CompileJob &job : jobs)
    kernelJobs += job.kind != CompileJob::Kind::Runtime;
  auto onDone = [&](const CompileJob &job) {
    if (job.kind == CompileJob::Kind::Runtime) {
      cache.store(runtimeKey, job.objectPath);
      return;
    }
    if (job.kind == CompileJob::Kind::Kernel) {
      if (freestanding)
        cache.store(job.symbol + ".scratch", job.objectPath + ".scratch");
      cache.store(job.symbol + ".o", job.objectPath);
    }
    ++done;
    if (options.quiet)
      return;
    if (options.verbose)
      llvm::errs() << "[kiln] kernel " << done << "/" << kernelJobs << " " << job.name << "\n";
    else if (done == 1 || done % 25 == 0 || done == kernelJobs)
      llvm::errs() << "[kiln] compiling kernels: " << done << "/" << kernelJobs << "\n";
  };
  if (!runCompileJobs(jobs, target, onDone, error))
    return failWith(error);
  PlanFile emittedPlans;
  if (!options.emitPlansPath.empty()) {
    for (const auto &[path, key] : keyOfPlanPath) {
      auto text = llvm::MemoryBuffer::getFile(path);
      std::string planError;
      std::optional<PlanFile> one;
      if (text)
        one = PlanFile::fromJson("{\"format\": \"kiln-plans\", \"version\": 1, \"plans\": [" +
                                     (*text)->getBuffer().str() + "]}",
                                 planError);
      const KernelPlan *plan = one ? one->find("") : nullptr;
      if (!plan)
        return failWith("cannot read back the plan of a kernel (" + path + ")" +
                        (planError.empty() ? "" : ": " + planError));
      KernelPlan copy = *plan;
      copy.key = key;
      emittedPlans.add(copy);
    }
    for (const KernelPlan &plan : givenPlans)
      emittedPlans.add(plan);
  }
  if (options.plans && plannedFromFile == 0 && options.plans->size() > 0 && !options.quiet)
    llvm::errs() << "[kiln] warning: none of the " << options.plans->size()
                 << " plans given matches a kernel of this model and target\n";

  // Inputs and outputs.
  auto names = [&](const char *attr) {
    std::vector<std::string> out;
    if (auto array = func->getAttrOfType<ArrayAttr>(attr))
      for (Attribute a : array)
        out.push_back(llvm::cast<StringAttr>(a).str());
    return out;
  };
  std::vector<std::string> inputNames = names("kiln.input_names");
  std::vector<std::string> outputNames = names("kiln.output_names");
  for (auto [i, arg] : llvm::enumerate(block.getArguments()))
    tables.inputs.push_back({i < inputNames.size() ? inputNames[i] : "input" + std::to_string(i),
                             tensorType(arg), buffers[arg].location, std::nullopt});
  for (auto [i, value] : llvm::enumerate(block.getTerminator()->getOperands())) {
    std::string name = i < outputNames.size() ? outputNames[i] : "output" + std::to_string(i);
    auto it = buffers.find(value);
    if (it == buffers.end() || it->second.isWeight)
      return failWith("output '" + name +
                      "' is a constant; constant outputs are not supported yet");
    tables.outputs.push_back({name, tensorType(value), it->second.location, std::nullopt});
    if (auto extent = value.getDefiningOp<WithExtentOp>())
      tables.outputs.back().extent = {int64_t(extent.getAxis()),
                                      buffers[extent.getExtent()].location};
  }
  tables.modelName = options.modelName;
  tables.sourceName = options.sourceName;
  tables.fingerprint = weights.fingerprint();
  tables.arenaSize = arenaSize.getInt();
  tables.weights = &weights.tensors();
  // Freestanding: each kernel's scratch goes where no tensor is live while it runs, the
  // arena growing only where no such gap is large enough; the opened model's state last.
  if (freestanding) {
    std::map<std::string, uint64_t> peakOf;
    for (const auto &[symbol, path] : scratchFiles) {
      auto text = llvm::MemoryBuffer::getFile(path);
      unsigned long long peak = 0;
      if (!text || llvm::StringRef((*text)->getBuffer()).trim().getAsInteger(10, peak))
        return failWith("cannot read a kernel's scratch figure (" + path + ")");
      peakOf[symbol] = peak;
    }
    std::vector<uint64_t> scratchBytes;
    for (const KernelCall &call : tables.calls)
      scratchBytes.push_back(call.kind == KernelCall::Kind::Kernel ? peakOf[call.symbol] : 0);
    FreestandingLayout &layout = tables.freestanding.emplace();
    uint64_t end = placeKernelScratch(tables, scratchBytes, layout.stepScratch);
    for (uint64_t bytes : scratchBytes)
      layout.largestScratch = std::max(layout.largestScratch, bytes);
    layout.stateOffset = (std::max<uint64_t>(end, uint64_t(tables.arenaSize)) + 63) / 64 * 64;
    tables.arenaSize = int64_t(layout.stateOffset + kFreestandingStateBytes);
  }

  // 3. Weights, embedded (an object holding the GGUF bytes) or a file beside the output.
  std::string weightsTemp = (tempDir + "/weights.gguf").str();
  std::map<std::string, std::string> metadata = {
      {"general.architecture", "kiln"},
      {"general.name", options.modelName},
      {"kiln.fingerprint", tables.fingerprint},
      {"kiln.source", options.sourceName},
      {"kiln.format_version", "1"},
  };
  GgufLayout ggufLayout;
  if (!writeGguf(weightsTemp, metadata, weights.tensors(), 64, error, &ggufLayout))
    return failWith(error);
  if (tables.freestanding) {
    tables.freestanding->weightsFileSize = ggufLayout.fileBytes;
    tables.freestanding->fingerprintOffset = ggufLayout.stringValueOffsets["kiln.fingerprint"];
    tables.freestanding->weightOffsets = ggufLayout.tensorOffsets;
  }
  if (options.embedWeights) {
    uint64_t bytes = 0;
    if (llvm::sys::fs::file_size(weightsTemp, bytes) || bytes == 0)
      return failWith("cannot read back " + weightsTemp);
    tables.embeddedWeightsBytes = bytes;
    // A read-only section of its own, so a linker script can place it in flash; 64-byte
    // aligned like a mapped file's tensors.
    std::string escaped;
    for (char c : weightsTemp)
      escaped += (c == '"' || c == '\\') ? std::string("\\") + c : std::string(1, c);
    std::string assembly = (tempDir + "/weights.s").str(), object = (tempDir + "/weights.o").str();
    std::ofstream out(assembly);
    out << "/* weights.s - the weights file, linked in (kiln compile --weights embed) */\n";
    if (llvm::StringRef(target.halideTarget).starts_with("wasm"))  // WebAssembly's syntax
      out << "  .section .rodata.kiln_weights,\"\",@\n"
          << "  .globl kiln_embedded_weights\n  .type kiln_embedded_weights,@object\n"
          << "  .p2align 6\nkiln_embedded_weights:\n  .incbin \"" << escaped << "\"\n"
          << "  .size kiln_embedded_weights, " << bytes << "\n";
    else
      out << "  .section .rodata.kiln_weights,\"a\"\n  .balign 64\n"
          << "  .globl kiln_embedded_weights\n  .type kiln_embedded_weights, %object\n"
          << "kiln_embedded_weights:\n  .incbin \"" << escaped << "\"\n"
          << "  .size kiln_embedded_weights, . - kiln_embedded_weights\n"
          << "  .section .note.GNU-stack,\"\",%progbits\n";
    out.close();
    std::vector<std::string> assemble = {target.cc, "-c"};
    assemble.insert(assemble.end(), target.ccFlags.begin(), target.ccFlags.end());
    assemble.insert(assemble.end(), {assembly, "-o", object});
    if (!out.good() || !runCommand(assemble, options.verbose, error))
      return failWith("embedding the weights: " + error);
    objects.push_back(object);
  }

  // 4. Glue.
  std::string gluePath = (tempDir + "/glue.c").str();
  {
    std::ofstream out(gluePath);
    out << emitGlue(tables, needs);
    if (!out.good())
      return failWith("cannot write " + gluePath);
  }

  // 5. Link.
  std::string outputTemp = (tempDir + "/artifact").str();
  bool isLibrary = options.outputKind != OutputKind::Executable;
  // Where each file goes: (temporary, final). Executables: OUT and OUT.gguf; libraries:
  // DIR/libNAME.a or .so, DIR/NAME.h, DIR/NAME.pc and DIR/NAME.gguf.
  std::vector<std::pair<std::string, std::string>> installs;
  std::vector<std::string> stale;
  LibraryFacts facts;
  std::string apiPath;
  if (isLibrary) {
    facts.prefix = libraryPrefix(options.modelName);
    facts.fileName = options.modelName;
    facts.kindName = outputKindName(options.outputKind);
    facts.targetName = target.name;
    facts.arenaAlignment =
        std::max<int64_t>(64, target.backend->layoutOptions(target).arenaAlignment);
    uint64_t weightsBytes = 0;
    llvm::sys::fs::file_size(weightsTemp, weightsBytes);
    facts.weightsFileBytes = weightsBytes;
    facts.embeddedWeights = options.embedWeights;
    facts.freestanding = freestanding;
    // A folder of its own: NAME.h must not shadow a header the glue includes.
    std::string libDir = (tempDir + "/lib").str();
    if (auto ec = llvm::sys::fs::create_directories(libDir))
      return failWith("cannot create " + libDir + ": " + ec.message());
    std::string headerPath = libDir + "/" + facts.fileName + ".h";
    apiPath = libDir + "/" + facts.prefix + "_api.c";
    std::string pcPath = libDir + "/" + facts.fileName + ".pc";
    bool shared = options.outputKind == OutputKind::SharedLibrary;
    {
      std::ofstream header(headerPath), api(apiPath), pc(pcPath);
      header << emitLibraryHeader(tables, facts);
      api << emitLibrarySource(tables, facts);
      // Found with PKG_CONFIG_PATH=DIR; paths are relative to the .pc file, so the four
      // files can move together.
      std::string system = freestanding ? "-lm" : "-lpthread -ldl -lm";
      std::string description;  // one line, no variable references
      for (char c : options.sourceName)
        description += (c == '$' || c == '#' || !llvm::isPrint(c)) ? '_' : c;
      for (const std::string &flag : needs.linkFlags)
        system += " " + flag;
      pc << "# " << facts.fileName << ".pc - generated by kiln compile --emit " << facts.kindName
         << "\nprefix=${pcfiledir}\nlibdir=${prefix}\nincludedir=${prefix}\n"
         << (options.embedWeights ? "" : "weights=${prefix}/" + facts.fileName + ".gguf\n")
         << "\n"
         << "Name: " << facts.fileName << "\n"
         << "Description: model " << description << " compiled by kiln for "
         << target.name << "\nVersion: 1.0.0\n"
         << "Cflags: -I${includedir}\n"
         << "Libs: -L${libdir} -l" << facts.fileName
         << (shared ? " -Wl,-rpath,${libdir}\nLibs.private: " : " ") << system << "\n";
      if (!header.good() || !api.good() || !pc.good())
        return failWith("cannot write the library's header, API or pkg-config file in " +
                        tempDir.str().str());
    }
    std::string dir = llvm::sys::path::parent_path(options.outputPath).str();
    installs = {{outputTemp, dir + "/lib" + facts.fileName + (shared ? ".so" : ".a")},
                {headerPath, dir + "/" + facts.fileName + ".h"},
                {pcPath, dir + "/" + facts.fileName + ".pc"}};
    if (!options.embedWeights)
      installs.push_back({weightsTemp, dir + "/" + facts.fileName + ".gguf"});
    // What an earlier build of this name left that would now mislead: the other kind of
    // library (a linker prefers the .so) and weights that are now linked in.
    stale.push_back(dir + "/lib" + facts.fileName + (shared ? ".a" : ".so"));
    if (options.embedWeights)
      stale.push_back(dir + "/" + facts.fileName + ".gguf");
  } else {
    installs = {{outputTemp, options.outputPath}};
    if (!options.embedWeights)
      installs.push_back({weightsTemp, options.outputPath + ".gguf"});
  }
  if (!linkArtifact(options.outputKind, target, needs, tempDir.str().str(), gluePath, objects,
                    outputTemp, options.modelName, isLibrary ? &facts : nullptr, apiPath,
                    options.verbose, error))
    return failWith(error);
  if (!options.emitPlansPath.empty()) {
    std::string plansTemp = (tempDir + "/plans.json").str();
    if (!emittedPlans.write(plansTemp, error))
      return failWith(error);
    if (llvm::sys::fs::rename(plansTemp, options.emitPlansPath))
      return failWith("cannot write the plans to " + options.emitPlansPath);
  }
  if (needs.packaging == ArtifactPackaging::MacBuildKit)
    llvm::sys::fs::remove_directories(options.outputPath);
  // All or nothing: files already there move aside first; if any new file cannot be moved
  // in, the new ones go and the old ones come back.
  std::vector<std::pair<std::string, std::string>> asides;  // (backup, original)
  std::vector<std::string> moved;
  auto rollBack = [&] {
    for (const std::string &path : moved)
      llvm::sys::fs::remove(path);
    for (const auto &[backup, original] : asides)
      llvm::sys::fs::rename(backup, original);
  };
  for (const std::string &path : stale)
    if (llvm::sys::fs::exists(path)) {
      std::string backup = (tempDir + "/old-" + std::to_string(asides.size())).str();
      if (llvm::sys::fs::rename(path, backup)) {
        rollBack();
        return failWith("cannot move the stale " + path + " aside");
      }
      asides.push_back({backup, path});
    }
  for (const auto &[from, to] : installs) {
    if (llvm::sys::fs::exists(to) && needs.packaging != ArtifactPackaging::MacBuildKit) {
      std::string backup = (tempDir + "/old-" + std::to_string(asides.size())).str();
      if (llvm::sys::fs::rename(to, backup)) {
        rollBack();
        return failWith("cannot replace " + to);
      }
      asides.push_back({backup, to});
    }
    if (llvm::sys::fs::rename(from, to)) {
      rollBack();
      return failWith("cannot move " + llvm::sys::path::filename(to).str() + " into " +
                      llvm::sys::path::parent_path(to).str());
    }
    moved.push_back(to);
  }
  std::string weightsPath = options.embedWeights ? "embedded weights" : installs.back().second;
  std::string arenaBoundText;
  if (auto bound = func->getAttrOfType<IntegerAttr>("kiln.arena_lower_bound"); bound && bound.getInt() > 0) {
    char text[96];
    snprintf(text, sizeof text, ", liveness lower bound %lld, +%.1f%%",
             static_cast<long long>(bound.getInt()),
             100.0 * double(arenaSize.getInt() - bound.getInt()) / double(bound.getInt()));
    arenaBoundText = text;
  }
  if (options.quiet) {
    cleanup();
    return true;
  }
  if (options.plans)
    llvm::errs() << "[kiln] " << plannedFromFile << " of "
                 << llvm::count_if(tables.calls, [](const KernelCall &call) {
                      return call.kind == KernelCall::Kind::Kernel;
                    })
                 << " kernel calls took a plan from the plan file\n";
  std::string written = options.outputPath;
  if (isLibrary)
    written = installs[0].second + ", " + installs[1].second + ", " + installs[2].second;
  llvm::errs() << "[kiln] wrote " << written
               << (needs.packaging == ArtifactPackaging::MacBuildKit ? " (a build kit: see its README)" : "")
               << " (" << kernelCount << " kernels: " << compiledCount << " compiled, "
               << reusedCount << " from cache, "
               << (kernelCount - compiledCount - reusedCount) << " shared; arena "
               << tables.arenaSize << " bytes" << arenaBoundText;
  if (tables.freestanding)  // bare metal: the caller's whole arena, planned here
    llvm::errs() << ": tensors " << arenaSize.getInt() << ", largest kernel scratch "
                 << tables.freestanding->largestScratch << " placed among them, model state "
                 << kFreestandingStateBytes;
  llvm::errs() << ") and " << weightsPath
               << " (" << weights.tensors().size() << " tensors, " << weights.totalBytes()
               << " bytes)\n";
  cleanup();
  return true;
}

} // namespace kiln
