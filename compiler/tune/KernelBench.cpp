//===- KernelBench.cpp - cutting a kernel out, its inputs, runs, checks ---===//
#include "compiler/tune/KernelBench.h"

#include "compiler/pipeline/Pipeline.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>
#include <cstring>
#include <fstream>

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

std::vector<bool> float32Outputs(ModuleOp module) {
  std::vector<bool> result;
  auto func = module.lookupSymbol<func::FuncOp>("main");
  for (Type type : func.getFunctionType().getResults())
    result.push_back(llvm::cast<RankedTensorType>(type).getElementType().isF32());
  return result;
}

} // namespace kiln
