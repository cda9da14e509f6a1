//===- NodeImporter.h - what an op importer sees of its ONNX node ----------===//
//
// Each op family (OpsMath.cpp, OpsNN.cpp, OpsTensor.cpp) registers one function per ONNX
// op type. The function reads its node through a NodeImporter: operands as kiln values,
// attributes with defaults, constant operands as values, and it reports failures with the
// node named. Internal to the ONNX frontend.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_COMPILER_FRONTENDS_ONNX_NODEIMPORTER_H
#define KILN_COMPILER_FRONTENDS_ONNX_NODEIMPORTER_H

#include "dialects/kiln/IR/KilnConstants.h"
#include "dialects/kiln/IR/KilnOps.h"
#include "dialects/kiln/IR/KilnShapes.h"
#include "mlir/IR/Builders.h"
#include "onnx/onnx_pb.h"
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace kiln {

class NodeImporter {
public:
  using Sequences = std::map<std::string, std::vector<mlir::Value>>;
  using SubgraphImporter = std::function<mlir::LogicalResult(const onnx::GraphProto &)>;

  NodeImporter(mlir::OpBuilder &builder, std::map<std::string, mlir::Value> &values,
               Sequences &sequences, const onnx::NodeProto &node, mlir::Location loc,
               int64_t opset, SubgraphImporter importSubgraph)
      : builder(builder), values(values), sequences(sequences), node(node), loc(loc),
        opset(opset), importSubgraph(std::move(importSubgraph)) {}

  mlir::OpBuilder &builder;
  std::map<std::string, mlir::Value> &values;
  /// ONNX sequences are resolved at compile time into lists of tensors.
  Sequences &sequences;
  const onnx::NodeProto &node;
  mlir::Location loc;
  /// The default-domain opset the node is read at (17 unless conversion failed).
  int64_t opset;
  /// Imports a subgraph's initializers and nodes into the current scope (If, Loop).
  SubgraphImporter importSubgraph;
  std::string error;
  /// Most iterations a Loop decided at run time may run when its trip count is not a
  /// compile-time constant (kiln compile --max-loop-iterations); past it the run fails.
  int64_t maxLoopIterations = int64_t(1) << 24;
  /// A graph-valued attribute, or null.
  const onnx::GraphProto *graphAttr(const std::string &name) const;  // set by fail()

  /// Operand `i`, or a null value when absent (optional inputs have empty names).
  mlir::Value input(int i) const;
  int inputCount() const { return node.input_size(); }
  int outputCount() const { return node.output_size(); }
  /// Whether the model reads output `i` (optional outputs are absent or have empty names).
  bool wantsOutput(int i) const { return i < node.output_size() && !node.output(i).empty(); }
  void setOutput(int i, mlir::Value value);
  /// Sets output `i` from a builder result, passing a failure (already reported) through.
  mlir::LogicalResult setOutput(int i, mlir::FailureOr<mlir::Value> value) {
    if (mlir::failed(value))
      return mlir::failure();
    setOutput(i, *value);
    return mlir::success();
  }

  /// Records `message` as this node's error and returns failure.
  mlir::LogicalResult fail(const std::string &message);

  /// Thrown by must(); the importer catches it per node (the error is already recorded).
  struct Failure {};
  /// The value of a helper's result that must have succeeded: a failure (already reported
  /// with fail(), such as operands that do not broadcast) abandons the node instead of
  /// reading a value that is not there.
  template <typename T> T must(mlir::FailureOr<T> result) {
    if (mlir::failed(result)) {
      if (error.empty())
        (void)fail("import failed");
      throw Failure{};
    }
    return *result;
  }

  bool hasAttr(const std::string &name) const;
  int64_t intAttr(const std::string &name, int64_t fallback) const;
  double floatAttr(const std::string &name, double fallback) const;
  std::string stringAttr(const std::string &name, const std::string &fallback) const;
  std::vector<int64_t> intsAttr(const std::string &name,
                                std::vector<int64_t> fallback = {}) const;
  std::vector<float> floatsAttr(const std::string &name) const;
  const onnx::TensorProto *tensorAttr(const std::string &name) const;

  /// Values of a constant operand; std::nullopt if it is not a compile-time constant.
  std::optional<ConstantValues> constantInput(int i) const;
  /// Fails with a message that names input `i` ("'name' must be a compile-time constant"),
  /// which tools can answer with --bind.
  mlir::LogicalResult notConstant(int i, const std::string &what);
  /// Integer values of a constant operand (error if not constant).
  mlir::FailureOr<std::vector<int64_t>> constantInts(int i, const std::string &what);

  /// Type helpers.
  static mlir::RankedTensorType typeOf(mlir::Value value);
  static llvm::ArrayRef<int64_t> shapeOf(mlir::Value value) { return typeOf(value).getShape(); }
  /// The type of a tensor the node makes. A shape no kernel can address (a negative
  /// dimension, over 2^31 - 1 elements: a scale of 1e30, a Range to infinity) abandons
  /// the node with an error naming the shape before anything is computed on it.
  mlir::RankedTensorType tensorType(llvm::ArrayRef<int64_t> shape, mlir::Type elementType) {
    if (!isAddressableShape(shape)) {
      (void)fail("a result of shape " + shapeToString(shape) +
                 " has a negative dimension or more than 2^31 - 1 elements (the most a "
                 "kiln kernel can address)");
      throw Failure{};
    }
    return mlir::RankedTensorType::get(shape, elementType);
  }

  /// Builds an op, folding it right away when its operands are constants.
  template <typename OpTy, typename... Args> mlir::Value create(Args &&...args) {
    return builder.createOrFold<OpTy>(loc, std::forward<Args>(args)...);
  }

  /// Elementwise binary op with broadcasting; fails on incompatible shapes.
  template <typename OpTy> mlir::FailureOr<mlir::Value> binary(mlir::Value lhs, mlir::Value rhs) {
    auto shape = broadcastShapes(shapeOf(lhs), shapeOf(rhs));
    if (!shape) {
      return fail("operand shapes " + shapeToString(shapeOf(lhs)) + " and " +
           shapeToString(shapeOf(rhs)) + " do not broadcast");
    }
    if (typeOf(lhs).getElementType() != typeOf(rhs).getElementType()) {
      return fail("operand element types differ");
    }
    return create<OpTy>(tensorType(*shape, typeOf(lhs).getElementType()), lhs, rhs);
  }

  /// kiln.compare with broadcasting ("eq", "lt", "le", "gt", "ge").
  mlir::FailureOr<mlir::Value> compare(llvm::StringRef predicate, mlir::Value lhs, mlir::Value rhs);
  /// kiln.select with broadcasting of all three operands.
  mlir::FailureOr<mlir::Value> select(mlir::Value condition, mlir::Value lhs, mlir::Value rhs);
  template <typename OpTy> mlir::Value unary(mlir::Value x) { return create<OpTy>(x.getType(), x); }

  /// A scalar constant of `elementType` (rank 0).
  mlir::Value scalar(double value, mlir::Type elementType);
  /// A constant with the given shape and values.
  mlir::Value constant(llvm::ArrayRef<int64_t> shape, mlir::Type elementType,
                       llvm::ArrayRef<double> floats, llvm::ArrayRef<int64_t> ints = {});
  mlir::Value reshape(mlir::Value value, llvm::ArrayRef<int64_t> shape);
  mlir::Value transpose(mlir::Value value, llvm::ArrayRef<int64_t> perm);

  /// Normalizes a possibly negative axis against `rank`; fails when out of range.
  mlir::FailureOr<int64_t> axis(int64_t axis, int64_t rank);
  /// Fails naming `what` unless every value lies in [lo, hi]: model values that size
  /// shapes and loops are bounded before any arithmetic on them.
  mlir::LogicalResult checkRange(llvm::ArrayRef<int64_t> values, int64_t lo, int64_t hi,
                                 const std::string &what);
  /// Window attributes of Conv, Pool, ConvTranspose and ConvInteger bounded (sizes,
  /// strides and dilations in [1, kMaxWindow], pads in [0, kMaxWindow]) so window
  /// arithmetic on dimensions below 2^31 cannot overflow.
  static constexpr int64_t kMaxWindow = 1 << 20;
  mlir::LogicalResult checkWindow(llvm::ArrayRef<int64_t> kernel, llvm::ArrayRef<int64_t> strides,
                                  llvm::ArrayRef<int64_t> dilations, llvm::ArrayRef<int64_t> pads);
  /// Fails naming `what` unless `value` has the given rank.
  mlir::LogicalResult checkRank(mlir::Value value, int64_t rank, const std::string &what);
  /// axis() applied to every entry of `axes`, in place.
  mlir::LogicalResult normalizeAxes(std::vector<int64_t> &axes, int64_t rank);
};

using OpImportFn = mlir::LogicalResult (*)(NodeImporter &);
using OpTable = std::map<std::string, OpImportFn>;

void registerMathOps(OpTable &table);
void registerNNOps(OpTable &table);
void registerTensorOps(OpTable &table);
void registerLogicOps(OpTable &table);
void registerCompositeOps(OpTable &table);
void registerControlOps(OpTable &table);
void registerRecurrentOps(OpTable &table);
void registerSamplingOps(OpTable &table);
void registerSelectionOps(OpTable &table);

/// MLIR element type of an ONNX TensorProto data type; null for unsupported ones.
mlir::Type onnxElementType(mlir::MLIRContext *context, int dataType);
/// Reads a TensorProto (raw_data, typed fields or external data next to `modelDir`).
/// External data is charged to `*byteBudget` (when given) before it is read; a tensor
/// that does not fit is an error naming it.
mlir::FailureOr<mlir::ElementsAttr> readTensorProto(mlir::MLIRContext *context,
                                                    const onnx::TensorProto &tensor,
                                                    const std::string &modelDir,
                                                    std::string &error,
                                                    int64_t *byteBudget = nullptr);

} // namespace kiln

#endif
