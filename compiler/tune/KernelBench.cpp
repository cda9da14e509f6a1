//===- KernelBench.cpp - cutting a kernel out, its inputs, runs, checks ---===//
#include "compiler/tune/KernelBench.h"

#include "compiler/pipeline/Pipeline.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>
#include <cstring>
#include <fstream>
#include <regex>

using namespace mlir;

namespace kiln {
namespace {

RankedTensorType tensorType(Value v) { return llvm::cast<RankedTensorType>(v.getType()); }

/// NumPy's name for an element type.
std::string npyDescr(Type type) {
  if (type.isF32()) return "<f4";
  if (type.isF16()) return "<f2";
  if (type.isF64()) return "<f8";
  auto i = llvm::cast<IntegerType>(type);
  if (i.getWidth() == 1) return "|b1";
  std::string kind = i.isUnsigned() ? "u" : "i";
  int bytes = int(i.getWidth()) / 8;
  return (bytes == 1 ? "|" : "<") + kind + std::to_string(bytes);
}

int64_t elementBytes(Type type) {
  return type.isInteger(1) ? 1 : int64_t(type.getIntOrFloatBitWidth()) / 8;
}

/// The data of an .npy file (after its header), or "" when it cannot be read.
std::string npyData(const std::string &path) {
  auto buffer = llvm::MemoryBuffer::getFile(path);
  if (!buffer)
    return "";
  llvm::StringRef bytes = (*buffer)->getBuffer();
  if (bytes.size() < 12 || !bytes.starts_with("\x93NUMPY"))
    return "";
  size_t headerBytes = bytes[6] == 1 ? 10 + (uint8_t(bytes[8]) | uint8_t(bytes[9]) << 8)
                                     : 12 + (uint32_t(uint8_t(bytes[8])) |
                                             uint32_t(uint8_t(bytes[9])) << 8 |
                                             uint32_t(uint8_t(bytes[10])) << 16 |
                                             uint32_t(uint8_t(bytes[11])) << 24);
  return headerBytes <= bytes.size() ? bytes.drop_front(headerBytes).str() : "";
}

} // namespace

OwningOpRef<ModuleOp> extractKernel(KernelOp kernel, int64_t arenaAlignment, std::string &error) {
  MLIRContext *context = kernel.getContext();
  Location loc = kernel.getLoc();
  OwningOpRef<ModuleOp> module = ModuleOp::create(loc);
  OpBuilder builder(context);
  // Activation inputs, each once, become the function's arguments.
  std::vector<Value> arguments;
  llvm::DenseMap<Value, bool> seen;
  for (Value input : kernel.getInputs())
    if (!input.getDefiningOp<ConstantOp>() && !seen.count(input)) {
      seen[input] = true;
      arguments.push_back(input);
    }
  std::vector<Type> argumentTypes, resultTypes(kernel.getResultTypes().begin(),
                                               kernel.getResultTypes().end());
  for (Value v : arguments)
    argumentTypes.push_back(v.getType());
  builder.setInsertionPointToEnd(module->getBody());
  auto func = func::FuncOp::create(builder, loc, "main",
                                   builder.getFunctionType(argumentTypes, resultTypes));
  Block *block = func.addEntryBlock();
  builder.setInsertionPointToEnd(block);
  IRMapping mapping;
  for (auto [value, argument] : llvm::zip(arguments, block->getArguments()))
    mapping.map(value, argument);
  for (Value input : kernel.getInputs())
    if (auto constant = input.getDefiningOp<ConstantOp>(); constant && !mapping.contains(input))
      mapping.map(input, builder.clone(*constant)->getResult(0));
  Operation *copy = builder.clone(*kernel, mapping);
  copy->removeAttr("kiln.arena_offsets");
  func::ReturnOp::create(builder, loc, copy->getResults());
  std::vector<Attribute> inputNames, outputNames;
  for (size_t i = 0; i < arguments.size(); ++i)
    inputNames.push_back(builder.getStringAttr("in" + std::to_string(i)));
  for (size_t i = 0; i < resultTypes.size(); ++i)
    outputNames.push_back(builder.getStringAttr("out" + std::to_string(i)));
  func->setAttr("kiln.input_names", builder.getArrayAttr(inputNames));
  func->setAttr("kiln.output_names", builder.getArrayAttr(outputNames));
  if (failed(planModuleMemory(*module, arenaAlignment))) {
    error = "kernel " + kernel.getSymName().str() + ": cannot plan its memory alone";
    return nullptr;
  }
  return module;
}

bool writeKernelInputs(ModuleOp module, const std::string &dir,
                       std::vector<std::string> &inputArgs, std::string &error) {
  auto func = module.lookupSymbol<func::FuncOp>("main");
  uint64_t state = 0x9e3779b97f4a7c15ull;  // a fixed seed: every candidate sees one input
  auto names = func->getAttrOfType<ArrayAttr>("kiln.input_names");
  for (auto [i, argument] : llvm::enumerate(func.getArguments())) {
    RankedTensorType type = tensorType(argument);
    std::string name = names && i < names.size() ? llvm::cast<StringAttr>(names[i]).str()
                                                 : "input" + std::to_string(i);
    Type element = type.getElementType();
    std::string shape;
    for (int64_t d : type.getShape())
      shape += std::to_string(d) + ", ";
    if (type.getRank() > 1)
      shape.resize(shape.size() - 2);
    else if (type.getRank() == 1)
      shape.resize(shape.size() - 1);
    std::string header = "{'descr': '" + npyDescr(element) +
                         "', 'fortran_order': False, 'shape': (" + shape + "), }";
    while ((10 + header.size() + 1) % 64)
      header += ' ';
    header += '\n';
    std::string path = dir + "/in" + std::to_string(i) + ".npy";
    std::ofstream out(path, std::ios::binary);
    out.write("\x93NUMPY\x01\x00", 8);
    uint16_t length = uint16_t(header.size());
    char lengthBytes[2] = {char(length & 0xff), char(length >> 8)};
    out.write(lengthBytes, 2);
    out << header;
    int64_t count = type.getNumElements();
    std::vector<char> data(size_t(count * elementBytes(element)), 0);
    if (element.isF32()) {
      float *values = reinterpret_cast<float *>(data.data());
      for (int64_t k = 0; k < count; ++k) {
        state = state * 6364136223846793005ull + 1442695040888963407ull;
        values[k] = float(double(state >> 40) / double(1ull << 24) * 2.0 - 1.0);
      }
    } else if (element.isF64()) {
      double *values = reinterpret_cast<double *>(data.data());
      for (int64_t k = 0; k < count; ++k) {
        state = state * 6364136223846793005ull + 1442695040888963407ull;
        values[k] = double(state >> 11) / double(1ull << 53) * 2.0 - 1.0;
      }
    }
    out.write(data.data(), std::streamsize(data.size()));
    if (!out.good()) {
      error = "cannot write " + path;
      return false;
    }
    inputArgs.push_back("--input");
    inputArgs.push_back(name + "=" + path);
  }
  return true;
}

std::string compareKernelOutputs(ModuleOp module, const std::string &referenceDir,
                                 const std::string &candidateDir) {
  auto func = module.lookupSymbol<func::FuncOp>("main");
  auto results = func.getFunctionType().getResults();
  for (size_t i = 0; i < results.size(); ++i) {
    std::string name = "out" + std::to_string(i) + ".npy";
    std::string reference = npyData(referenceDir + "/" + name);
    std::string candidate = npyData(candidateDir + "/" + name);
    if (candidate.empty() && !reference.empty())
      return "output " + name + " missing";
    if (reference.size() != candidate.size())
      return "output " + name + " has " + std::to_string(candidate.size()) + " bytes, not " +
             std::to_string(reference.size());
    Type element = llvm::cast<RankedTensorType>(results[i]).getElementType();
    if (!element.isF32()) {
      if (reference != candidate)
        return "output " + name + " differs";
      continue;
    }
    size_t count = reference.size() / 4;
    const float *ref = reinterpret_cast<const float *>(reference.data());
    const float *got = reinterpret_cast<const float *>(candidate.data());
    double largest = 1.0, worst = 0.0;
    for (size_t k = 0; k < count; ++k)
      if (std::isfinite(ref[k]))
        largest = std::max(largest, double(std::fabs(ref[k])));
    for (size_t k = 0; k < count; ++k) {
      if (std::isnan(ref[k]) != std::isnan(got[k]))
        return "output " + name + " element " + std::to_string(k) + " is NaN in one only";
      if (std::isnan(ref[k]))
        continue;
      double difference = std::isinf(ref[k]) || std::isinf(got[k])
                              ? (ref[k] == got[k] ? 0.0 : INFINITY)
                              : std::fabs(double(ref[k]) - double(got[k]));
      worst = std::max(worst, difference);
    }
    if (worst > 1e-3 * largest) {
      char text[160];
      snprintf(text, sizeof text, "output %s differs by up to %.3g (values up to %.3g)",
               name.c_str(), worst, largest);
      return text;
    }
  }
  return "";
}

KernelRun runKernelBenchmark(const std::string &executable,
                             const std::vector<std::string> &inputArgs,
                             const std::string &outputDir, int threads, int minTimeMs,
                             int timeoutSeconds, const std::string &wrapper) {
  KernelRun run;
  std::vector<std::string> argv;
  llvm::SmallVector<llvm::StringRef> words;
  llvm::StringRef(wrapper).split(words, ' ', -1, false);
  for (llvm::StringRef word : words)
    argv.push_back(word.str());
  argv.push_back(executable);
  argv.insert(argv.end(), inputArgs.begin(), inputArgs.end());
  for (const std::string &arg : {std::string("--output-dir"), outputDir, std::string("--bench"),
                                 std::string("3"), std::string("--min-time"),
                                 std::to_string(minTimeMs), std::string("--threads"),
                                 std::to_string(threads)})
    argv.push_back(arg);
  std::vector<llvm::StringRef> args(argv.begin(), argv.end());
  std::string log = outputDir + ".log";
  std::optional<llvm::StringRef> redirects[] = {llvm::StringRef(""), llvm::StringRef(log),
                                                llvm::StringRef(log)};
  std::string message;
  bool failedToStart = false;
  std::string program = argv[0];
  if (!words.empty()) {  // the wrapper is looked up on PATH
    auto found = llvm::sys::findProgramByName(program);
    if (!found) {
      run.message = "cannot find the run wrapper '" + program + "'";
      return run;
    }
    program = *found;
  }
  int rc = llvm::sys::ExecuteAndWait(program, args, std::nullopt, redirects,
                                     unsigned(timeoutSeconds), 0, &message, &failedToStart);
  auto text = llvm::MemoryBuffer::getFile(log);
  std::string output = text ? (*text)->getBuffer().str() : "";
  if (failedToStart) {
    run.message = "cannot run " + program + ": " + message;
    return run;
  }
  if (rc == -2) {
    // -2: a signal ended the child, or the timeout did (LLVM kills it: "Child timed out").
    bool timedOut = message.find("timed out") != std::string::npos;
    run.outcome = timedOut ? KernelRun::Outcome::TimedOut : KernelRun::Outcome::Crashed;
    run.message = timedOut ? "no result after " + std::to_string(timeoutSeconds) + " s"
                           : message;
    return run;
  }
  if (rc != 0) {
    run.outcome = rc < 0 ? KernelRun::Outcome::Crashed : KernelRun::Outcome::Failed;
    std::string last = output.substr(output.size() > 300 ? output.size() - 300 : 0);
    run.message = "exit " + std::to_string(rc) + (message.empty() ? "" : " (" + message + ")") +
                  (last.empty() ? "" : ": " + last);
    return run;
  }
  std::smatch match;
  static const std::regex latency("latency: median ([0-9.]+) ms, min ([0-9.]+) ms over ([0-9]+) runs");
  if (!std::regex_search(output, match, latency)) {
    run.message = "no latency line in the benchmark's output";
    return run;
  }
  run.outcome = KernelRun::Outcome::Ok;
  run.medianMs = std::stod(match[1]);
  run.minMs = std::stod(match[2]);
  run.runs = std::stoll(match[3]);
  return run;
}

} // namespace kiln
