//===- SourceMap.cpp - which model nodes each kernel computes -------------===//
//
// `kiln compile --emit-source-map FILE` writes, per kernel in call order, the names and op
// types of the model's nodes whose operations ended up in it. The importer gives every operation its
// node's name as a NameLoc and the passes keep (or fuse) those locations, so the kernel's
// body is the record. bench/compare_layers.js uses the file to line kiln's --profile up
// with onnxruntime's per-node profile.
//
//===----------------------------------------------------------------------===//
#include "compiler/codegen/Artifact.h"
#include "dialects/kiln/IR/KilnOps.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;

namespace kiln {

/// Every NameLoc name inside `loc` (a FusedLoc of several, a CallSite's callee, ...).
static void collectNames(Location loc, llvm::SetVector<llvm::StringRef> &names) {
  loc->walk([&](Location inner) {
    if (auto name = dyn_cast<NameLoc>(inner))
      names.insert(name.getName().getValue());
    return WalkResult::advance();
  });
}

bool writeKernelSourceMap(ModuleOp module, const std::string &path, std::string &error) {
  auto func = module.lookupSymbol<func::FuncOp>("main");
  if (!func) {
    error = "module has no @main function";
    return false;
  }
  llvm::json::Array kernels;
  func.walk([&](KernelOp kernel) {
    llvm::SetVector<llvm::StringRef> names;
    collectNames(kernel.getLoc(), names);
    kernel.getBody().walk([&](Operation *inner) { collectNames(inner->getLoc(), names); });
    llvm::json::Array nodes;
    for (llvm::StringRef label : names) {
      // The importer's label: node 'NAME' (OP_TYPE).
      llvm::StringRef name = label, op;
      if (label.consume_front("node '")) {
        size_t quote = label.rfind("' (");
        if (quote != llvm::StringRef::npos && label.ends_with(")")) {
          name = label.take_front(quote);
          op = label.drop_front(quote + 3).drop_back();
        }
      }
      llvm::json::Object node{{"name", name.str()}};
      if (!op.empty())
        node["op"] = op.str();
      nodes.push_back(std::move(node));
    }
    kernels.push_back(llvm::json::Object{{"name", kernel.getSymName().str()},
                                         {"nodes", std::move(nodes)}});
  });
  std::error_code ec;
  llvm::raw_fd_ostream out(path, ec);
  if (ec) {
    error = "cannot write " + path + ": " + ec.message();
    return false;
  }
  out << llvm::formatv("{0:2}", llvm::json::Value(llvm::json::Object{
                                    {"format", "kiln-source-map"},
                                    {"version", 1},
                                    {"kernels", std::move(kernels)}}))
      << "\n";
  return true;
}

} // namespace kiln
