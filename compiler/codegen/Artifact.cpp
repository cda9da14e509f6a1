//===- Artifact.cpp - from a planned module to an executable and its weights ===//
//
// 1. Collect weights: every kiln.constant that feeds a kernel becomes a GGUF tensor.
// 2. Compile each kernel to an object (Halide AOT) and the Halide runtime once.
// 3. Emit the glue C file: one step function per kernel that builds halide_buffer_t
//    descriptors over arena offsets and weight pointers and calls the kernel.
// 4. Compile glue + runtime sources, link with the objects, write the weights; all in a
//    temporary directory, moved into place only when everything succeeded.
//
//===----------------------------------------------------------------------===//
#include "compiler/codegen/Artifact.h"

#include "compiler/codegen/Gguf.h"
#include "compiler/codegen/ObjectCache.h"
#include "dialects/kiln/IR/KilnConstants.h"
#include "dialects/kiln/IR/KilnOps.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/raw_ostream.h"
#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>

#ifndef KILN_RUNTIME_DIR
#error "KILN_RUNTIME_DIR must point at the runtime sources"
#endif
#ifndef KILN_HALIDE_INCLUDE_DIR
#define KILN_HALIDE_INCLUDE_DIR "/usr/include/halide14"
#endif

using namespace mlir;

namespace kiln {
namespace {

struct ElementInfo {
  int kilnDtype;
  uint32_t ggmlType;
  int halideCode, halideBits;
};

ElementInfo elementInfo(Type type) {
  if (type.isF32()) return {0, GGML_F32, 2, 32};
  if (type.isF16()) return {1, GGML_F16, 2, 16};
  if (type.isF64()) return {2, GGML_F64, 2, 64};
  auto i = llvm::cast<IntegerType>(type);
  bool u = i.isUnsigned();
  switch (i.getWidth()) {
  case 1: return {11, GGML_I8, 1, 1};
  case 8: return {u ? 7 : 3, GGML_I8, u ? 1 : 0, 8};
  case 16: return {u ? 8 : 4, GGML_I16, u ? 1 : 0, 16};
  case 32: return {u ? 9 : 5, GGML_I32, u ? 1 : 0, 32};
  default: return {u ? 10 : 6, GGML_I64, u ? 1 : 0, 64};
  }
}

std::string cString(const std::string &s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\', out += c;
    else if (isprint(static_cast<unsigned char>(c))) out += c;
    else {
      char buf[8];
      snprintf(buf, sizeof buf, "\\%03o", static_cast<unsigned char>(c));
      out += buf;
    }
  }
  return out + "\"";
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

/// Where a kernel argument lives: an arena offset or a weight index.
struct BufferRef {
  bool isWeight = false;
  int64_t location = 0;
};

/// What determines a kernel's object code: its region (ops, attributes, shapes; the name
/// and arena offsets excluded), the target and the compiler binary.
std::string kernelKey(KernelOp kernel, const TargetInfo &target) {
  Operation *copy = kernel->clone();
  copy->setAttr("sym_name", StringAttr::get(kernel.getContext(), "k"));
  copy->removeAttr("kiln.arena_offsets");
  std::string text;
  llvm::raw_string_ostream os(text);
  copy->print(os, OpPrintingFlags().printGenericOpForm());
  copy->destroy();
  return contentHash(compilerIdentity() + target.name + target.halideTarget + target.integerDotTarget + text);
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

} // namespace

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

  // Temporary directory beside the output.
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
  auto cleanup = [&] {
    if (!options.keepTemps)
      llvm::sys::fs::remove_directories(tempDir);
  };
  auto failWith = [&](const std::string &message) {
    error = message;
    cleanup();
    return false;
  };

  // 1. Buffers of every value and the weights.
  llvm::DenseMap<Value, BufferRef> buffers;
  for (auto [arg, offset] : llvm::zip(block.getArguments(), argOffsets.asArrayRef()))
    buffers[arg] = {false, offset};
  std::vector<GgufTensor> weights;
  std::set<std::string> weightNames;
  uint64_t fingerprint = 1469598103934665603ull;
  auto weightFor = [&](ConstantOp constant) -> int64_t {
    auto it = buffers.find(constant.getResult());
    if (it != buffers.end())
      return it->second.location;
    std::string base = "const";
    if (auto resource = llvm::dyn_cast<DenseResourceElementsAttr>(constant.getValue()))
      base = resource.getRawHandle().getKey().str();
    if (auto name = constant->getAttrOfType<StringAttr>("kiln.name"))
      base = name.str();
    if (base.size() > 56)
      base = base.substr(0, 40) + "_" + std::to_string(std::hash<std::string>()(base) % 100000);
    std::string name = base;
    for (int i = 1; weightNames.count(name); ++i)
      name = base + "." + std::to_string(i);
    weightNames.insert(name);
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
    fingerprint = fnv1a(fingerprint, name.data(), name.size());
    fingerprint = fnv1a(fingerprint, tensor.data.data(), tensor.data.size());
    weights.push_back(std::move(tensor));
    int64_t index = int64_t(weights.size()) - 1;
    buffers[constant.getResult()] = {true, index};
    return index;
  };

  // 2 + 3. Kernels and glue.
  std::ostringstream steps, glue;
  std::vector<std::string> objects, stepNames;
  std::vector<KernelOp> kernels;
  for (Operation &op : block)
    if (auto kernel = dyn_cast<KernelOp>(op))
      kernels.push_back(kernel);
  int kernelIndex = 0;
  std::set<std::string> glueDeclarations;  // compiled symbols not yet declared in glue
  auto describe = [&](std::ostringstream &os, const std::string &var, Value value,
                      const BufferRef &ref) {
    auto type = tensorType(value);
    ElementInfo info = elementInfo(type.getElementType());
    ArrayRef<int64_t> shape = type.getShape();
    os << "  static halide_dimension_t " << var << "_dim[" << std::max<size_t>(shape.size(), 1)
       << "] = {";
    int64_t stride = 1;
    for (int d = 0; d < int(shape.size()); ++d) {
      int64_t extent = shape[shape.size() - 1 - d];
      os << (d ? ", " : "") << "{0, " << extent << ", " << stride << ", 0}";
      stride *= extent;
    }
    if (shape.empty())
      os << "{0, 1, 1, 0}";
    os << "};\n";
    std::string host = ref.isWeight
                           ? "(uint8_t *)e->weights[" + std::to_string(ref.location) + "]"
                           : "e->arena + " + std::to_string(ref.location);
    os << "  halide_buffer_t " << var << " = {0, 0, " << host << ", 0, {" << info.halideCode
       << ", " << info.halideBits << ", 1}, " << shape.size() << ", " << var << "_dim, 0};\n";
  };
  ObjectCache cache = ObjectCache::fromEnvironment();
  std::string runtimeKey =
      "halide-runtime-" + contentHash(compilerIdentity() + options.target.halideTarget) + ".o";
  std::string runtimeObject;
  if (auto cached = cache.lookup(runtimeKey)) {
    runtimeObject = *cached;
  } else {
    runtimeObject = (tempDir + "/halide_runtime.o").str();
    if (!compileHalideRuntime(options.target, runtimeObject, error))
      return failWith(error);
    cache.store(runtimeKey, runtimeObject);
  }
  objects.push_back(runtimeObject);
  std::set<std::string> compiledSymbols;
  int compiledCount = 0, reusedCount = 0;
  for (Operation &op : block) {
    if (auto reshape = dyn_cast<ReshapeOp>(op)) {
      auto offsets = reshape->getAttrOfType<DenseI64ArrayAttr>("kiln.arena_offsets");
      buffers[reshape.getResult()] = {false, offsets[0]};
      continue;
    }
    auto kernel = dyn_cast<KernelOp>(op);
    if (!kernel)
      continue;
    // A kernel whose results are all empty has nothing to compute.
    if (llvm::all_of(kernel.getResultTypes(), [](Type type) {
          return llvm::cast<RankedTensorType>(type).getNumElements() == 0;
        })) {
      auto offsets = kernel->getAttrOfType<DenseI64ArrayAttr>("kiln.arena_offsets");
      for (auto [result, offset] : llvm::zip(kernel.getResults(), offsets.asArrayRef()))
        buffers[result] = {false, offset};
      continue;
    }
    // Kernels are named by content: identical kernels share one object, here and across
    // builds (through the cache).
    std::string key = kernelKey(kernel, options.target);
    std::string symbol = "kiln_" + key.substr(0, 24);
    std::string object = (tempDir + "/" + symbol + ".o").str();
    ++kernelIndex;
    if (options.verbose)
      llvm::errs() << "[kiln] kernel " << kernelIndex << "/" << kernels.size() << " "
                   << kernel.getSymName() << "\n";
    else if (kernelIndex == 1 || kernelIndex % 25 == 0 || kernelIndex == int(kernels.size()))
      llvm::errs() << "[kiln] compiling kernels: " << kernelIndex << "/" << kernels.size()
                   << "\n";
    if (!compiledSymbols.count(symbol)) {
      compiledSymbols.insert(symbol);
      if (auto cached = cache.lookup(symbol + ".o")) {
        object = *cached;
        ++reusedCount;
      } else {
        if (!compileKernel(kernel, symbol, options.target, object, error))
          return failWith(error);
        cache.store(symbol + ".o", object);
        ++compiledCount;
      }
      objects.push_back(object);
      glueDeclarations.insert(symbol);
    }
    auto offsets = kernel->getAttrOfType<DenseI64ArrayAttr>("kiln.arena_offsets");
    std::ostringstream body;
    std::string call = symbol + "(";
    int argCount = 0;
    for (Value input : kernel.getInputs()) {
      BufferRef ref;
      if (auto constant = input.getDefiningOp<ConstantOp>()) {
        ref = {true, weightFor(constant)};
      } else {
        auto it = buffers.find(input);
        if (it == buffers.end())
          return failWith("kernel " + kernel.getSymName().str() +
                          ": an input has no buffer (internal error)");
        ref = it->second;
      }
      std::string var = "b" + std::to_string(argCount);
      describe(body, var, input, ref);
      call += (argCount++ ? ", &" : "&") + var;
    }
    for (auto [result, offset] : llvm::zip(kernel.getResults(), offsets.asArrayRef())) {
      buffers[result] = {false, offset};
      std::string var = "b" + std::to_string(argCount);
      describe(body, var, result, buffers[result]);
      call += (argCount++ ? ", &" : "&") + var;
    }
    call += ")";
    if (glueDeclarations.count(symbol)) {
      glueDeclarations.erase(symbol);
      glue << "int " << symbol << "(";
      for (int i = 0; i < argCount; ++i)
        glue << (i ? ", " : "") << "struct halide_buffer_t *";
      glue << ");\n";
    }
    steps << "static int step_" << stepNames.size() << "(const kiln_exec_t *e) {\n"
          << body.str() << "  return " << call << ";\n}\n\n";
    stepNames.push_back(kernel.getSymName().str());
  }

  // I/O tables.
  auto names = [&](const char *attr) {
    std::vector<std::string> out;
    if (auto array = func->getAttrOfType<ArrayAttr>(attr))
      for (Attribute a : array)
        out.push_back(llvm::cast<StringAttr>(a).str());
    return out;
  };
  std::vector<std::string> inputNames = names("kiln.input_names");
  std::vector<std::string> outputNames = names("kiln.output_names");
  auto ioDesc = [&](std::ostringstream &os, const std::string &name, Value value) -> bool {
    auto it = buffers.find(value);
    if (it == buffers.end() || it->second.isWeight)
      return false;
    auto type = tensorType(value);
    ElementInfo info = elementInfo(type.getElementType());
    os << "  {" << cString(name) << ", " << info.kilnDtype << ", " << type.getRank() << ", {";
    for (int64_t i = 0; i < type.getRank(); ++i)
      os << (i ? ", " : "") << type.getShape()[i];
    if (type.getRank() == 0)
      os << "0";
    int64_t bytes = type.getNumElements() * elementByteSize(type.getElementType());
    os << "}, " << bytes << "u, " << it->second.location << "u},\n";
    return true;
  };
  std::ostringstream io;
  io << "static const kiln_io_desc_t inputs[] = {\n";
  for (auto [i, arg] : llvm::enumerate(block.getArguments()))
    ioDesc(io, i < inputNames.size() ? inputNames[i] : "input" + std::to_string(i), arg);
  if (block.getNumArguments() == 0)
    io << "  {0}\n";
  io << "};\nstatic const kiln_io_desc_t outputs[] = {\n";
  auto returned = block.getTerminator()->getOperands();
  for (auto [i, value] : llvm::enumerate(returned))
    if (!ioDesc(io, i < outputNames.size() ? outputNames[i] : "output" + std::to_string(i),
                value))
      return failWith("output '" + (i < outputNames.size() ? outputNames[i] : "") +
                      "' is a constant; constant outputs are not supported yet");
  io << "};\nstatic const kiln_weight_desc_t weights[] = {\n";
  for (const GgufTensor &t : weights) {
    io << "  {" << cString(t.name) << ", " << t.type << ", " << t.dims.size() << ", {";
    for (size_t i = 0; i < t.dims.size(); ++i)
      io << (i ? ", " : "") << t.dims[i];
    if (t.dims.empty())
      io << "0";
    io << "}, " << t.data.size() << "u},\n";
  }
  if (weights.empty())
    io << "  {0}\n";
  io << "};\nstatic const kiln_step_desc_t steps[] = {\n";
  for (size_t i = 0; i < stepNames.size(); ++i)
    io << "  {" << cString(stepNames[i]) << ", step_" << i << "},\n";
  if (stepNames.empty())
    io << "  {0}\n";
  io << "};\n";

  char fingerprintText[32];
  snprintf(fingerprintText, sizeof fingerprintText, "%016llx",
           static_cast<unsigned long long>(fingerprint));
  std::string gluePath = (tempDir + "/glue.c").str();
  {
    std::ofstream out(gluePath);
    out << "/* glue.c - generated by kiln compile from " << options.sourceName
        << "; do not edit. */\n"
        << "#include <stdint.h>\n#include \"HalideRuntime.h\"\n#include \"kiln/program.h\"\n\n"
        << glue.str() << "\n"
        << steps.str() << io.str() << "\n"
        << "const kiln_program_t kiln_program = {\n  " << cString(options.modelName) << ", "
        << cString(fingerprintText) << ", " << arenaSize.getInt() << "u,\n  "
        << block.getNumArguments() << ", inputs, " << returned.size() << ", outputs, "
        << weights.size() << ", weights, " << stepNames.size() << ", steps};\n";
    if (!out.good())
      return failWith("cannot write " + gluePath);
  }

  // 4. Weights and link.
  std::string weightsTemp = (tempDir + "/weights.gguf").str();
  std::map<std::string, std::string> metadata = {
      {"general.architecture", "kiln"},
      {"general.name", options.modelName},
      {"kiln.fingerprint", fingerprintText},
      {"kiln.source", options.sourceName},
      {"kiln.format_version", "1"},
  };
  if (!writeGguf(weightsTemp, metadata, weights, 64, error))
    return failWith(error);
  std::string executableTemp = (tempDir + "/artifact").str();
  std::string runtimeDir = KILN_RUNTIME_DIR;
  std::vector<std::string> command = {options.target.cc, "-O2", "-std=c11",
                                      "-I" + runtimeDir + "/include",
                                      "-I" KILN_HALIDE_INCLUDE_DIR};
  command.insert(command.end(), options.target.ccFlags.begin(), options.target.ccFlags.end());
  command.push_back(gluePath);
  // The runtime's sources compile once per toolchain (cached), then link into every artifact.
  std::string runtimeHeaders;
  for (const char *header : {"include/kiln/program.h", "include/kiln/runtime.h",
                             "include/kiln/npy.h", "src/gguf.h", "src/thread_pool.h",
                             "src/error.h"}) {
    auto buffer = llvm::MemoryBuffer::getFile(runtimeDir + "/" + header);
    runtimeHeaders += buffer ? (*buffer)->getBuffer().str() : std::string(header);
  }
  for (const char *source :
       {"gguf.c", "npy.c", "thread_pool.c", "scratch.c", "runtime.c", "main.c"}) {
    std::string sourcePath = runtimeDir + "/src/" + source;
    auto buffer = llvm::MemoryBuffer::getFile(sourcePath);
    if (!buffer)
      return failWith("cannot read the runtime source " + sourcePath);
    std::string flags;
    for (const auto &f : options.target.ccFlags)
      flags += f + " ";
    std::string key = "runtime-" + std::string(source) + "-" +
                      contentHash(options.target.cc + flags + runtimeHeaders +
                                  (*buffer)->getBuffer().str()) + ".o";
    if (auto cached = cache.lookup(key)) {
      command.push_back(*cached);
      continue;
    }
    std::string object = (tempDir + "/runtime_" + source + ".o").str();
    std::vector<std::string> compile = {options.target.cc, "-O2", "-std=c11", "-c",
                                        "-I" + runtimeDir + "/include",
                                        "-I" KILN_HALIDE_INCLUDE_DIR};
    compile.insert(compile.end(), options.target.ccFlags.begin(), options.target.ccFlags.end());
    compile.insert(compile.end(), {sourcePath, "-o", object});
    if (!runCommand(compile, options.verbose, error))
      return failWith("compiling the runtime: " + error);
    cache.store(key, object);
    command.push_back(object);
  }
  command.insert(command.end(), objects.begin(), objects.end());
  for (const char *lib : {"-o", "", "-lpthread", "-ldl", "-lm"})
    command.push_back(lib);
  command[command.size() - 4] = executableTemp;
  if (!runCommand(command, options.verbose, error))
    return failWith("linking " + options.outputPath + ": " + error);
  std::string weightsPath = options.outputPath + ".gguf";
  if (llvm::sys::fs::rename(weightsTemp, weightsPath) ||
      llvm::sys::fs::rename(executableTemp, options.outputPath)) {
    llvm::sys::fs::remove(weightsPath);
    return failWith("cannot move the artifact into " + options.outputPath);
  }
  std::string arenaBoundText;
  if (auto bound = func->getAttrOfType<IntegerAttr>("kiln.arena_lower_bound"); bound && bound.getInt() > 0) {
    char text[96];
    snprintf(text, sizeof text, ", liveness lower bound %lld, +%.1f%%",
             static_cast<long long>(bound.getInt()),
             100.0 * double(arenaSize.getInt() - bound.getInt()) / double(bound.getInt()));
    arenaBoundText = text;
  }
  uint64_t weightBytes = 0;
  for (const GgufTensor &t : weights)
    weightBytes += t.data.size();
  llvm::errs() << "[kiln] wrote " << options.outputPath << " (" << kernels.size()
               << " kernels: " << compiledCount << " compiled, " << reusedCount
               << " from cache, " << (kernels.size() - compiledCount - reusedCount)
               << " shared; arena " << arenaSize.getInt() << " bytes" << arenaBoundText
               << ") and " << weightsPath
               << " (" << weights.size() << " tensors, " << weightBytes << " bytes)\n";
  cleanup();
  return true;
}

} // namespace kiln
