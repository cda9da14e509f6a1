//===- OnnxImporter.cpp - ONNX model -> kiln dialect -----------------------===//
//
// Model-level import:
// 1. parse the protobuf, run onnx::checker, convert to the target opset;
// 2. specialize dynamic input dimensions from --input-shape and run ONNX shape inference
//    (its errors are the model's errors);
// 3. list unsupported op types (all of them, with node names) before importing anything;
// 4. import initializers as constants and every node through its op family's function.
//
//===----------------------------------------------------------------------===//
#include "compiler/frontends/onnx/OnnxImporter.h"

#include "compiler/frontends/onnx/NodeImporter.h"
#include "dialects/kiln/IR/KilnDialect.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "onnx/checker.h"
#include "onnx/shape_inference/implementation.h"
#include "onnx/version_converter/convert.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"
#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fstream>
#include <functional>
#include <set>
#include <sys/wait.h>
#include <unistd.h>
#include <sstream>

using namespace mlir;

namespace kiln {

//===----------------------------------------------------------------------===//
// NodeImporter
//===----------------------------------------------------------------------===//

Value NodeImporter::input(int i) const {
  if (i >= node.input_size() || node.input(i).empty())
    return {};
  auto it = values.find(node.input(i));
  return it == values.end() ? Value() : it->second;
}

void NodeImporter::setOutput(int i, Value value) {
  if (wantsOutput(i))
    values[node.output(i)] = value;
}

LogicalResult NodeImporter::fail(const std::string &message) {
  if (error.empty())
    error = message;
  return failure();
}

static const onnx::AttributeProto *findAttr(const onnx::NodeProto &node,
                                            const std::string &name) {
  for (const auto &attr : node.attribute())
    if (attr.name() == name)
      return &attr;
  return nullptr;
}

bool NodeImporter::hasAttr(const std::string &name) const { return findAttr(node, name); }

int64_t NodeImporter::intAttr(const std::string &name, int64_t fallback) const {
  const auto *attr = findAttr(node, name);
  return attr ? attr->i() : fallback;
}

double NodeImporter::floatAttr(const std::string &name, double fallback) const {
  const auto *attr = findAttr(node, name);
  return attr ? attr->f() : fallback;
}

std::string NodeImporter::stringAttr(const std::string &name,
                                     const std::string &fallback) const {
  const auto *attr = findAttr(node, name);
  return attr ? attr->s() : fallback;
}

std::vector<int64_t> NodeImporter::intsAttr(const std::string &name,
                                            std::vector<int64_t> fallback) const {
  const auto *attr = findAttr(node, name);
  if (!attr)
    return fallback;
  return std::vector<int64_t>(attr->ints().begin(), attr->ints().end());
}

std::vector<float> NodeImporter::floatsAttr(const std::string &name) const {
  const auto *attr = findAttr(node, name);
  if (!attr)
    return {};
  return std::vector<float>(attr->floats().begin(), attr->floats().end());
}

const onnx::GraphProto *NodeImporter::graphAttr(const std::string &name) const {
  const auto *attr = findAttr(node, name);
  return attr && attr->has_g() ? &attr->g() : nullptr;
}

const onnx::TensorProto *NodeImporter::tensorAttr(const std::string &name) const {
  const auto *attr = findAttr(node, name);
  return attr && attr->has_t() ? &attr->t() : nullptr;
}

std::optional<ConstantValues> NodeImporter::constantInput(int i) const {
  Value value = input(i);
  if (!value)
    return std::nullopt;
  auto constant = value.getDefiningOp<ConstantOp>();
  if (!constant)
    return std::nullopt;
  return readConstant(constant.getValue());
}

LogicalResult NodeImporter::notConstant(int i, const std::string &what) {
  std::string message = what + " (input " + std::to_string(i) + ", '" +
                        (i < node.input_size() ? node.input(i) : std::string()) +
                        "') must be a compile-time constant";
  if (builder.getContext()->getOrLoadDialect<KilnDialect>()->foldingStopped)
    message += " (constant folding stopped at the --max-folded-bytes limit)";
  return fail(message);
}

FailureOr<std::vector<int64_t>> NodeImporter::constantInts(int i, const std::string &what) {
  auto values = constantInput(i);
  if (!values)
    return notConstant(i, what);
  if (!values->isInteger)
    return fail(what + " (input " + std::to_string(i) + ", '" +
                (i < node.input_size() ? node.input(i) : std::string()) +
                "') must be integers");
  return values->ints;
}

RankedTensorType NodeImporter::typeOf(Value value) {
  return llvm::cast<RankedTensorType>(value.getType());
}

Value NodeImporter::constant(ArrayRef<int64_t> shape, Type elementType, ArrayRef<double> floats,
                             ArrayRef<int64_t> ints) {
  auto type = tensorType(shape, elementType);
  std::vector<int64_t> intValues(ints.begin(), ints.end());
  if (isIntegerElement(elementType) && intValues.empty())
    for (double f : floats)
      intValues.push_back(toInt64(f));
  std::vector<double> floatValues(floats.begin(), floats.end());
  if (floatValues.empty())
    for (int64_t i : ints)
      floatValues.push_back(double(i));
  return ConstantOp::create(builder, loc, type,
                            buildConstant(type, floatValues, intValues, "const"));
}

Value NodeImporter::scalar(double value, Type elementType) {
  return constant({}, elementType, {value}, {toInt64(value)});
}

Value NodeImporter::reshape(Value value, ArrayRef<int64_t> shape) {
  return create<ReshapeOp>(tensorType(shape, typeOf(value).getElementType()), value);
}

Value NodeImporter::transpose(Value value, ArrayRef<int64_t> perm) {
  Shape shape;
  for (int64_t p : perm)
    shape.push_back(shapeOf(value)[p]);
  return create<TransposeOp>(tensorType(shape, typeOf(value).getElementType()), value,
                             builder.getDenseI64ArrayAttr(perm));
}

FailureOr<Value> NodeImporter::compare(StringRef predicate, Value lhs, Value rhs) {
  auto shape = broadcastShapes(shapeOf(lhs), shapeOf(rhs));
  if (!shape) {
    return fail("operand shapes " + shapeToString(shapeOf(lhs)) + " and " + shapeToString(shapeOf(rhs)) +
         " do not broadcast");
  }
  if (typeOf(lhs).getElementType() != typeOf(rhs).getElementType()) {
    return fail("operand element types differ");
  }
  return create<CompareOp>(tensorType(*shape, builder.getI1Type()), lhs, rhs,
                           builder.getStringAttr(predicate));
}

FailureOr<Value> NodeImporter::select(Value condition, Value lhs, Value rhs) {
  auto partial = broadcastShapes(shapeOf(condition), shapeOf(lhs));
  auto shape = partial ? broadcastShapes(*partial, shapeOf(rhs)) : std::nullopt;
  if (!shape) {
    return fail("condition and values do not broadcast");
  }
  if (typeOf(lhs).getElementType() != typeOf(rhs).getElementType()) {
    return fail("the two value operands have different element types");
  }
  return create<SelectOp>(tensorType(*shape, typeOf(lhs).getElementType()), condition, lhs, rhs);
}

FailureOr<int64_t> NodeImporter::axis(int64_t axis, int64_t rank) {
  // Strict for scalars too: every caller indexes the shape with the result.
  if (axis < -rank || axis >= rank) {
    return fail("axis " + std::to_string(axis) + " is out of range for rank " + std::to_string(rank));
  }
  return axis < 0 ? axis + rank : axis;
}

LogicalResult NodeImporter::checkRange(ArrayRef<int64_t> values, int64_t lo, int64_t hi,
                                       const std::string &what) {
  for (int64_t v : values)
    if (v < lo || v > hi)
      return fail(what + " " + std::to_string(v) + " is out of range [" + std::to_string(lo) +
                  ", " + std::to_string(hi) + "]");
  return success();
}

LogicalResult NodeImporter::checkWindow(ArrayRef<int64_t> kernel, ArrayRef<int64_t> strides,
                                        ArrayRef<int64_t> dilations, ArrayRef<int64_t> pads) {
  return success(succeeded(checkRange(kernel, 1, kMaxWindow, "kernel size")) &&
                 succeeded(checkRange(strides, 1, kMaxWindow, "stride")) &&
                 succeeded(checkRange(dilations, 1, kMaxWindow, "dilation")) &&
                 succeeded(checkRange(pads, 0, kMaxWindow, "pad")));
}

LogicalResult NodeImporter::checkRank(Value value, int64_t rank, const std::string &what) {
  if (int64_t(shapeOf(value).size()) != rank)
    return fail(what + " has shape " + shapeToString(shapeOf(value)) + ", expected rank " +
                std::to_string(rank));
  return success();
}

LogicalResult NodeImporter::normalizeAxes(std::vector<int64_t> &axes, int64_t rank) {
  for (int64_t &a : axes) {
    auto normalized = axis(a, rank);
    if (failed(normalized))
      return failure();
    a = *normalized;
  }
  return success();
}

//===----------------------------------------------------------------------===//
// Tensors
//===----------------------------------------------------------------------===//

Type onnxElementType(MLIRContext *context, int dataType) {
  Builder b(context);
  switch (dataType) {
  case onnx::TensorProto::FLOAT: return b.getF32Type();
  case onnx::TensorProto::DOUBLE: return b.getF64Type();
  case onnx::TensorProto::FLOAT16: return b.getF16Type();
  case onnx::TensorProto::BFLOAT16: return b.getBF16Type();
  case onnx::TensorProto::INT8: return b.getIntegerType(8);
  case onnx::TensorProto::INT16: return b.getIntegerType(16);
  case onnx::TensorProto::INT32: return b.getIntegerType(32);
  case onnx::TensorProto::INT64: return b.getIntegerType(64);
  case onnx::TensorProto::UINT8: return b.getIntegerType(8, /*isSigned=*/false);
  case onnx::TensorProto::UINT16: return b.getIntegerType(16, false);
  case onnx::TensorProto::UINT32: return b.getIntegerType(32, false);
  case onnx::TensorProto::UINT64: return b.getIntegerType(64, false);
  case onnx::TensorProto::BOOL: return b.getI1Type();
  default: return nullptr;
  }
}

static std::string sanitizeBlobName(const std::string &name) {
  std::string out;
  for (char c : name)
    out += (isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.') ? c : '_';
  if (out.empty() || isdigit(static_cast<unsigned char>(out[0])))
    out = "t_" + out;
  return out;
}

/// Resolves an external-data `location` inside the model's folder: a relative path without
/// "..", to a regular file whose real path (symlinks resolved) is still inside the folder.
/// Anything else would let a model read (and bake into its weights) any file the user can.
static LogicalResult resolveExternalData(const std::string &modelDir, const std::string &location,
                                         std::string &path, const std::string &where,
                                         std::string &error) {
  llvm::StringRef text(location);
  bool escapes = text.empty() || llvm::sys::path::is_absolute(text) ||
                 text.find('\0') != llvm::StringRef::npos;
  for (auto it = llvm::sys::path::begin(text), end = llvm::sys::path::end(text);
       !escapes && it != end; ++it)
    escapes = *it == "..";
  if (escapes) {
    error = where + " location '" + location.substr(0, 200) +
            "' is not a relative path inside the model's folder";
    return failure();
  }
  llvm::SmallString<256> folder, file;
  if (llvm::sys::fs::real_path(modelDir.empty() ? "." : modelDir, folder)) {
    error = where + ": cannot resolve the model's folder " + modelDir;
    return failure();
  }
  std::string joined = std::string(folder) + "/" + location;
  if (llvm::sys::fs::real_path(joined, file)) {
    error = where + " file " + joined + " does not exist";
    return failure();
  }
  llvm::StringRef resolved(file);
  if (!resolved.starts_with(std::string(folder) + "/")) {
    error = where + " location '" + location + "' leads outside the model's folder (to " +
            std::string(file) + ")";
    return failure();
  }
  llvm::sys::fs::file_status status;
  if (llvm::sys::fs::status(file, status) || !llvm::sys::fs::is_regular_file(status)) {
    error = where + " file " + std::string(file) + " is not a regular file";
    return failure();
  }
  path = std::string(file);
  return success();
}

/// Checks that a tensor's inline data matches its shape: dimensions non-negative with a
/// product that fits, and exactly as many values (raw bytes or typed entries) as the shape
/// holds. libonnx's checker does not check this and its shape inference reads such data
/// past its end, so every tensor in the model is checked before libonnx sees it.
static LogicalResult checkTensorData(const onnx::TensorProto &tensor, const std::string &where,
                                     std::string &error) {
  int64_t count = 1;
  for (int64_t d : tensor.dims())
    if (d < 0 || (d > 0 && count > INT64_MAX / 256 / d)) {  // count * bits fits
      error = where + " has shape " + shapeToString(SmallVector<int64_t>(tensor.dims().begin(),
                                                                          tensor.dims().end())) +
              ": a negative dimension or a size that overflows";
      return failure();
    } else {
      count *= d;
    }
  if (tensor.data_location() == onnx::TensorProto::EXTERNAL)
    return success();  // checked against the file's size when read
  using T = onnx::TensorProto;
  // Bits per element in raw_data, and which typed field holds the values (and how many
  // entries per element: complex numbers take two).
  int64_t bits = 0, perElement = 1, typed = 0;
  switch (tensor.data_type()) {
  case T::FLOAT: bits = 32; typed = tensor.float_data_size(); break;
  case T::COMPLEX64: bits = 64; perElement = 2; typed = tensor.float_data_size(); break;
  case T::DOUBLE: bits = 64; typed = tensor.double_data_size(); break;
  case T::COMPLEX128: bits = 128; perElement = 2; typed = tensor.double_data_size(); break;
  case T::INT64: bits = 64; typed = tensor.int64_data_size(); break;
  case T::UINT32: bits = 32; typed = tensor.uint64_data_size(); break;
  case T::UINT64: bits = 64; typed = tensor.uint64_data_size(); break;
  case T::INT32: bits = 32; typed = tensor.int32_data_size(); break;
  case T::INT16: case T::UINT16: case T::FLOAT16: case T::BFLOAT16:
    bits = 16; typed = tensor.int32_data_size(); break;
  case T::INT8: case T::UINT8: case T::BOOL: bits = 8; typed = tensor.int32_data_size(); break;
  case T::STRING: typed = tensor.string_data_size(); break;
  default:
    error = where + " has unknown data type " + std::to_string(tensor.data_type());
    return failure();
  }
  if (tensor.has_raw_data()) {
    if (bits == 0 || int64_t(tensor.raw_data().size()) * 8 != count * bits) {
      error = where + " holds " + std::to_string(tensor.raw_data().size()) + " bytes of raw data, " +
              "its shape takes " + std::to_string(count * bits / 8);
      return failure();
    }
  } else if (typed != count * perElement) {
    error = where + " holds " + std::to_string(typed) + " values, its shape takes " +
            std::to_string(count * perElement);
    return failure();
  }
  return success();
}

static LogicalResult checkGraphTensors(const onnx::GraphProto &graph, std::string &error);

static LogicalResult checkNodeTensors(const onnx::NodeProto &node, int index,
                                      std::string &error) {
  std::string label = node.name().empty() ? node.op_type() + "#" + std::to_string(index)
                                          : node.name();
  for (const auto &attr : node.attribute()) {
    std::string where = "node '" + label + "' attribute '" + attr.name() + "'";
    if (attr.has_t() && failed(checkTensorData(attr.t(), where, error)))
      return failure();
    for (const auto &t : attr.tensors())
      if (failed(checkTensorData(t, where, error)))
        return failure();
    if (attr.has_sparse_tensor() &&
        (failed(checkTensorData(attr.sparse_tensor().values(), where + " values", error)) ||
         failed(checkTensorData(attr.sparse_tensor().indices(), where + " indices", error))))
      return failure();
    if (attr.has_g() && failed(checkGraphTensors(attr.g(), error)))
      return failure();
    for (const auto &g : attr.graphs())
      if (failed(checkGraphTensors(g, error)))
        return failure();
  }
  return success();
}

static LogicalResult checkGraphTensors(const onnx::GraphProto &graph, std::string &error) {
  for (const auto &init : graph.initializer())
    if (failed(checkTensorData(init, "initializer '" + init.name() + "'", error)))
      return failure();
  for (const auto &sparse : graph.sparse_initializer()) {
    std::string where = "sparse initializer '" + sparse.values().name() + "'";
    if (failed(checkTensorData(sparse.values(), where + " values", error)) ||
        failed(checkTensorData(sparse.indices(), where + " indices", error)))
      return failure();
  }
  for (int i = 0; i < graph.node_size(); ++i)
    if (failed(checkNodeTensors(graph.node(i), i, error)))
      return failure();
  return success();
}

FailureOr<ElementsAttr> readTensorProto(MLIRContext *context, const onnx::TensorProto &tensor,
                                        const std::string &modelDir, std::string &error,
                                        int64_t *byteBudget) {
  Type elementType = onnxElementType(context, tensor.data_type());
  if (!elementType) {
    error = "tensor '" + tensor.name() + "' has unsupported data type " +
            std::to_string(tensor.data_type());
    return failure();
  }
  SmallVector<int64_t> shape(tensor.dims().begin(), tensor.dims().end());
  if (!isAddressableShape(shape)) {
    error = "tensor '" + tensor.name() + "' has shape " + shapeToString(shape) +
            ": a negative dimension or more than 2^31 - 1 elements";
    return failure();
  }
  auto type = RankedTensorType::get(shape, elementType);
  int64_t count = type.getNumElements();
  int64_t elementSize = elementByteSize(elementType);
  std::string bytes;
  if (tensor.data_location() == onnx::TensorProto::EXTERNAL) {
    std::string where = "tensor '" + tensor.name() + "': external data";
    std::string location;
    int64_t offset = 0, length = -1;
    for (const auto &entry : tensor.external_data()) {
      int64_t *field = entry.key() == "offset" ? &offset : entry.key() == "length" ? &length
                                                                                   : nullptr;
      if (entry.key() == "location")
        location = entry.value();
      else if (field && (llvm::StringRef(entry.value()).getAsInteger(10, *field) || *field < 0)) {
        error = where + " field '" + entry.key() + "' is '" + entry.value().substr(0, 40) +
                "', not a non-negative integer";
        return failure();
      }
    }
    if (count < 0 || (elementSize > 0 && count > INT64_MAX / elementSize)) {
      error = where + ": the tensor's size overflows";
      return failure();
    }
    if (length >= 0 && length != count * elementSize) {
      error = where + ": length " + std::to_string(length) + " differs from the " +
              std::to_string(count * elementSize) + " bytes of shape " + shapeToString(shape);
      return failure();
    }
    length = count * elementSize;
    std::string path;
    if (failed(resolveExternalData(modelDir, location, path, where, error)))
      return failure();
    uint64_t fileSize = 0;
    if (llvm::sys::fs::file_size(path, fileSize) || uint64_t(offset) > fileSize ||
        uint64_t(length) > fileSize - uint64_t(offset)) {
      error = where + " file " + path + " (" + std::to_string(fileSize) +
              " bytes) is shorter than offset " + std::to_string(offset) + " + length " +
              std::to_string(length);
      return failure();
    }
    if (byteBudget) {
      if (length > *byteBudget) {
        error = where + ": its " + std::to_string(length) +
                " bytes take the model past the size limit (raise it with --max-model-bytes)";
        return failure();
      }
      *byteBudget -= length;
    }
    std::ifstream file(path, std::ios::binary);
    bytes.resize(length);
    file.seekg(offset);
    if (!file || !file.read(bytes.data(), length)) {
      error = where + ": cannot read " + std::to_string(length) + " bytes at offset " +
              std::to_string(offset) + " of " + path;
      return failure();
    }
  } else if (tensor.has_raw_data()) {
    bytes = tensor.raw_data();
  }
  ConstantValues values;
  values.type = type;
  values.isInteger = isIntegerElement(elementType);
  if (!bytes.empty() || tensor.has_raw_data() ||
      tensor.data_location() == onnx::TensorProto::EXTERNAL) {
    if (int64_t(bytes.size()) != count * elementSize) {
      error = "tensor '" + tensor.name() + "' holds " + std::to_string(bytes.size()) +
              " bytes, expected " + std::to_string(count * elementSize) + " for shape " +
              shapeToString(shape);
      return failure();
    }
    if (count > 16) {
      AsmResourceBlob blob = HeapAsmResourceBlob::allocateAndCopyWithAlign(
          ArrayRef<char>(bytes.data(), bytes.size()), 64);
      return ElementsAttr(DenseResourceElementsAttr::get(
          type, sanitizeBlobName(tensor.name()), std::move(blob)));
    }
    // Small: decoded into a dense attribute (shapes, scalars) that folders read directly.
    auto decoded = decodeConstant(type, ArrayRef<char>(bytes.data(), bytes.size()));
    if (!decoded) {
      error = "tensor '" + tensor.name() + "' could not be decoded";
      return failure();
    }
    return buildConstant(type, decoded->floats, decoded->ints, sanitizeBlobName(tensor.name()));
  }
  // Typed fields.
  std::vector<double> floats;
  std::vector<int64_t> ints;
  switch (tensor.data_type()) {
  case onnx::TensorProto::FLOAT:
    for (float f : tensor.float_data()) floats.push_back(f);
    break;
  case onnx::TensorProto::DOUBLE:
    for (double f : tensor.double_data()) floats.push_back(f);
    break;
  case onnx::TensorProto::INT64:
    for (int64_t i : tensor.int64_data()) ints.push_back(i);
    break;
  case onnx::TensorProto::UINT32:
  case onnx::TensorProto::UINT64:
    for (uint64_t i : tensor.uint64_data()) ints.push_back(int64_t(i));
    break;
  case onnx::TensorProto::FLOAT16:
  case onnx::TensorProto::BFLOAT16:
    for (int32_t bits : tensor.int32_data()) {
      llvm::APFloat v(tensor.data_type() == onnx::TensorProto::FLOAT16
                          ? llvm::APFloat::IEEEhalf()
                          : llvm::APFloat::BFloat(),
                      llvm::APInt(16, uint64_t(bits) & 0xffff));
      floats.push_back(v.convertToDouble());
    }
    break;
  default:
    for (int32_t i : tensor.int32_data()) ints.push_back(i);
    break;
  }
  if (values.isInteger)
    for (int64_t i : ints) floats.push_back(double(i));
  if (int64_t(floats.size()) != count) {
    error = "tensor '" + tensor.name() + "' holds " + std::to_string(floats.size()) +
            " values, expected " + std::to_string(count) + " for shape " + shapeToString(shape);
    return failure();
  }
  return buildConstant(type, floats, ints, sanitizeBlobName(tensor.name()));
}

//===----------------------------------------------------------------------===//
// Model import
//===----------------------------------------------------------------------===//

static const OpTable &opTable() {
  static const OpTable table = [] {
    OpTable t;
    registerMathOps(t);
    registerNNOps(t);
    registerTensorOps(t);
    registerLogicOps(t);
    registerCompositeOps(t);
    registerControlOps(t);
    registerRecurrentOps(t);
    registerSamplingOps(t);
    registerSelectionOps(t);
    return t;
  }();
  return table;
}

std::vector<std::string> supportedOnnxOps() {
  std::vector<std::string> names;
  for (const auto &entry : opTable())
    names.push_back(entry.first);
  return names;
}

/// How long one isolated libonnx step may take.
constexpr unsigned kOnnxStepSeconds = 300;

/// How an isolated libonnx step ended.
enum class StepResult { Done, Failed, Crashed };

/// Runs `step` (a libonnx call that may change `model`: checker, shape inference, version
/// conversion) in a child process, and takes the changed model back. libonnx crashes on
/// some malformed models (STFT with its inputs swapped segfaults in shape inference); in
/// a child that is an error message naming the step, not a dead compiler. A step that
/// throws reports its message in `message` (Failed); a crash says which signal (Crashed).
static StepResult isolatedOnnxStep(onnx::ModelProto &model, bool changesModel,
                                   const std::function<void(onnx::ModelProto &)> &step,
                                   std::string &message) {
  llvm::SmallString<128> modelFile, errorFile;
  if (llvm::sys::fs::createTemporaryFile("kiln-onnx", "pb", modelFile) ||
      llvm::sys::fs::createTemporaryFile("kiln-onnx", "err", errorFile)) {
    message = "cannot create a temporary file";
    return StepResult::Failed;
  }
  auto removeFiles = [&] {
    llvm::sys::fs::remove(modelFile);
    llvm::sys::fs::remove(errorFile);
  };
  llvm::outs().flush();
  llvm::errs().flush();
  pid_t pid = fork();
  if (pid == 0) {
    // The child dies of its own crash: sanitizer or fuzzer handlers inherited from the
    // parent must not report libonnx's crash as the compiler's. A step that hangs is
    // stopped by the alarm.
    for (int signal : {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGALRM})
      std::signal(signal, SIG_DFL);
    alarm(kOnnxStepSeconds);
    int code = 0;
    try {
      step(model);
      if (changesModel) {
        std::ofstream out(std::string(modelFile), std::ios::binary);
        code = model.SerializeToOstream(&out) && out.good() ? 0 : 1;
      }
    } catch (const std::exception &e) {
      std::ofstream(std::string(errorFile)) << e.what();
      code = 1;
    }
    _exit(code);
  }
  int status = 0;
  while (pid > 0 && waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (pid < 0) {
    removeFiles();
    message = std::string("cannot start a process: ") + std::strerror(errno);
    return StepResult::Failed;
  }
  StepResult result = StepResult::Done;
  if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM) {
    message = "the ONNX library did not finish within " + std::to_string(kOnnxStepSeconds) +
              " s; the model is malformed or too large";
    result = StepResult::Crashed;
  } else if (WIFSIGNALED(status)) {
    message = "the ONNX library crashed (signal " + std::to_string(WTERMSIG(status)) + ", " +
              strsignal(WTERMSIG(status)) + "); the model is malformed";
    result = StepResult::Crashed;
  } else if (WEXITSTATUS(status) != 0) {
    auto text = llvm::MemoryBuffer::getFile(errorFile);
    message = text && !(*text)->getBuffer().empty() ? (*text)->getBuffer().str()
                                                    : "the step failed with no message";
    result = StepResult::Failed;
  } else if (changesModel) {
    std::ifstream in(std::string(modelFile), std::ios::binary);
    onnx::ModelProto changed;
    if (!changed.ParseFromIstream(&in)) {
      message = "cannot read the model back from the ONNX step";
      result = StepResult::Failed;
    } else {
      model = std::move(changed);
    }
  }
  removeFiles();
  return result;
}

/// Operand counts against the op's schema, and no empty name where an operand is
/// required: libonnx's checker lets `Sum(, x)` through, and handlers index operands they
/// may assume present.
static LogicalResult checkNodeArity(const onnx::NodeProto &node, int64_t opset,
                                    const std::string &label,
                                    const NodeImporter::Sequences &sequences,
                                    OnnxImportError &error) {
  const onnx::OpSchema *schema = onnx::OpSchemaRegistry::Schema(
      node.op_type(), int(opset), node.domain() == "ai.onnx" ? "" : node.domain());
  if (!schema)
    return success();  // handlers check what they read
  int count = node.input_size();
  if (count < schema->min_input() || count > schema->max_input()) {
    error.messages.push_back(label + ": " + std::to_string(count) + " inputs; " +
                             node.op_type() + " takes " + std::to_string(schema->min_input()) +
                             (schema->max_input() == schema->min_input()
                                  ? ""
                                  : " to " + std::to_string(schema->max_input())));
    return failure();
  }
  const auto &formals = schema->inputs();
  for (int i = 0; i < count && !formals.empty(); ++i) {
    const auto &formal = formals[std::min<size_t>(i, formals.size() - 1)];
    if (node.input(i).empty() && formal.GetOption() != onnx::OpSchema::Optional) {
      error.messages.push_back(label + ": input " + std::to_string(i) + " (" + formal.GetName() +
                               ") is required but has no name");
      return failure();
    }
    // A sequence where the schema takes only tensors (or the reverse): handlers read one
    // kind of value and would find none.
    bool takesSequence = false, takesTensor = false;
    for (onnx::DataType type : formal.GetTypes()) {
      bool sequence = llvm::StringRef(*type).starts_with("seq(");
      takesSequence |= sequence;
      takesTensor |= !sequence;
    }
    bool isSequence = !node.input(i).empty() && sequences.count(node.input(i));
    if (!node.input(i).empty() && !formal.GetTypes().empty() &&
        (isSequence ? !takesSequence : !takesTensor)) {
      error.messages.push_back(label + ": input " + std::to_string(i) + " ('" + node.input(i) +
                               "') is a " + (isSequence ? "sequence" : "tensor") + "; " +
                               node.op_type() + " takes a " +
                               (isSequence ? "tensor" : "sequence") + " there");
      return failure();
    }
  }
  return success();
}

static std::string nodeLabel(const onnx::NodeProto &node, int index) {
  std::string name = node.name().empty() ? node.op_type() + "#" + std::to_string(index)
                                         : node.name();
  return "node '" + name + "' (" + node.op_type() + ")";
}

OwningOpRef<ModuleOp> importOnnxModel(MLIRContext &context, const std::string &path,
                                      const OnnxImportOptions &options, OnnxImportError &error) {
  KilnDialect *kiln = context.getOrLoadDialect<KilnDialect>();
  kiln->maxFoldedBytes = options.maxFoldedBytes;
  kiln->foldedBytes = 0;
  kiln->foldingStopped = false;
  context.getOrLoadDialect<func::FuncDialect>();

  // 1. Parse, check, convert. Only a regular file (a FIFO or device would block or never end).
  llvm::sys::fs::file_status status;
  if (!llvm::sys::fs::status(path, status) && !llvm::sys::fs::is_regular_file(status)) {
    error.messages.push_back(path + ": not a regular file");
    return nullptr;
  }
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    error.messages.push_back(path + ": cannot open file");
    return nullptr;
  }
  // The model file and its external data share one size budget, checked before reading.
  int64_t modelBytesLeft = options.maxModelBytes - int64_t(status.getSize());
  if (modelBytesLeft < 0) {
    error.messages.push_back(path + ": " + std::to_string(status.getSize()) +
                             " bytes, over the model size limit of " +
                             std::to_string(options.maxModelBytes) +
                             " (raise it with --max-model-bytes)");
    return nullptr;
  }
  std::stringstream buffer;
  buffer << file.rdbuf();
  std::string bytes = buffer.str();
  onnx::ModelProto model;
  if (bytes.empty() || !model.ParseFromString(bytes) || !model.has_graph()) {
    error.messages.push_back(path + ": not a valid ONNX model (protobuf parse failed or no graph)");
    return nullptr;
  }
  std::string stepMessage;
  {
    std::string message;
    LogicalResult tensorsFit = checkGraphTensors(model.graph(), message);
    for (const auto &function : model.functions())
      for (int i = 0; succeeded(tensorsFit) && i < function.node_size(); ++i)
        tensorsFit = checkNodeTensors(function.node(i), i, message);
    if (failed(tensorsFit)) {
      error.messages.push_back(path + ": " + message);
      return nullptr;
    }
  }
  // By path, so the checker finds external data files beside the model, not in the
  // current directory.
  if (isolatedOnnxStep(model, false, [&](onnx::ModelProto &) { onnx::checker::check_model(path); },
                       stepMessage) != StepResult::Done) {
    error.messages.push_back(path + ": ONNX checker: " + stepMessage);
    return nullptr;
  }
  int64_t opset = 0;
  for (const auto &import : model.opset_import())
    if (import.domain().empty() || import.domain() == "ai.onnx")
      opset = import.version();
  if (opset == 0) {
    error.messages.push_back(path + ": model imports no default-domain opset");
    return nullptr;
  }
  std::string modelDir = path.find('/') == std::string::npos
                             ? "."
                             : path.substr(0, path.find_last_of('/'));
  onnx::GraphProto *graph = model.mutable_graph();

  // 2. Specialize inputs, infer shapes, convert to the target opset.
  std::set<std::string> initializerNames;
  for (const auto &init : graph->initializer())
    initializerNames.insert(init.name());
  for (const auto &entry : options.inputShapes) {
    bool found = false;
    for (const auto &input : graph->input())
      found |= input.name() == entry.first;
    if (!found) {
      std::string names;
      for (const auto &input : graph->input())
        if (!initializerNames.count(input.name()))
          names += (names.empty() ? "" : ", ") + input.name();
      error.messages.push_back("--input-shape names '" + entry.first +
                               "', which is not a model input (inputs: " + names + ")");
    }
  }
  for (auto &input : *graph->mutable_input()) {
    if (initializerNames.count(input.name()))
      continue;
    if (!input.type().has_tensor_type()) {
      error.messages.push_back("input '" + input.name() + "' is not a tensor");
      continue;
    }
    auto *tensorType = input.mutable_type()->mutable_tensor_type();
    auto *shape = tensorType->mutable_shape();
    auto given = options.inputShapes.find(input.name());
    if (given != options.inputShapes.end()) {
      // The user's shape wins; a different rank is worth a warning, not a refusal.
      if (int(given->second.size()) != shape->dim_size() && tensorType->has_shape())
        llvm::errs() << "kiln: warning: --input-shape " << input.name() << " has rank "
                     << given->second.size() << ", the model declares rank " << shape->dim_size()
                     << "\n";
      shape->clear_dim();
      for (int64_t d : given->second)
        shape->add_dim()->set_dim_value(d);
    }
    bool known = true;
    SmallVector<int64_t> dims;
    for (const auto &dim : shape->dim()) {
      known &= dim.has_dim_value() && dim.dim_value() >= 0;
      dims.push_back(dim.dim_value());
    }
    if (known && !isAddressableShape(dims)) {
      error.messages.push_back("input '" + input.name() + "' of shape " + shapeToString(dims) +
                               " has more than 2^31 - 1 elements (the most a kiln kernel can "
                               "address)");
      continue;
    }
    if (given != options.inputShapes.end())
      continue;
    for (int i = 0; i < shape->dim_size(); ++i)
      if (shape->dim(i).has_dim_value() && shape->dim(i).dim_value() < 0) {
        error.messages.push_back("input '" + input.name() + "' has dimension " +
                                 std::to_string(shape->dim(i).dim_value()) +
                                 "; give its shape with --input-shape " + input.name() + "=...");
        break;
      } else if (!shape->dim(i).has_dim_value()) {
        std::string param = shape->dim(i).dim_param();
        error.messages.push_back("input '" + input.name() + "' has dynamic dimension " +
                                 std::to_string(i) + (param.empty() ? "" : " (" + param + ")") +
                                 "; give its shape with --input-shape " + input.name() + "=...");
        break;
      }
  }
  if (!error.empty())
    return nullptr;
  auto inferShapes = [](onnx::ModelProto &m) {
    onnx::ShapeInferenceOptions inferenceOptions{/*check_type=*/false, /*error_mode=*/0,
                                                 /*enable_data_propagation=*/true};
    onnx::shape_inference::InferShapes(m, onnx::OpSchemaRegistry::Instance(), inferenceOptions);
  };
  if (isolatedOnnxStep(model, true, inferShapes, stepMessage) != StepResult::Done) {
    error.messages.push_back(path + ": ONNX shape inference: " + stepMessage);
    return nullptr;
  }
  graph = model.mutable_graph();  // the model was replaced by the inferred one

  // Convert to the target opset. Some adapters need shapes that ONNX's inference cannot
  // derive before kiln folds shape arithmetic (Softmax 12->13 on a computed Reshape); the
  // importer then reads the model at its own opset, where every handler checks n.opset.
  // Scan-8 has a batch axis and sequence_lens that the converter's Scan-9 drops, changing
  // the graph's input shapes: refuse it rather than run a different model.
  if (opset < 9) {
    std::function<bool(const onnx::GraphProto &)> hasScan = [&](const onnx::GraphProto &g) {
      for (const auto &node : g.node()) {
        if (node.op_type() == "Scan" && (node.domain().empty() || node.domain() == "ai.onnx"))
          return true;
        for (const auto &attr : node.attribute())
          if (attr.has_g() && hasScan(attr.g()))
            return true;
      }
      return false;
    };
    if (hasScan(*graph)) {
      error.messages.push_back(path + ": Scan at opset " + std::to_string(opset) +
                               " (a batch axis and sequence_lens) is not supported; "
                               "export at opset 9 or later");
      return nullptr;
    }
  }
  if (opset < options.targetOpset) {
    int64_t target = options.targetOpset;
    StepResult converted = isolatedOnnxStep(
        model, true,
        [&](onnx::ModelProto &m) { m = onnx::version_conversion::ConvertVersion(m, target); },
        stepMessage);
    if (converted == StepResult::Done) {
      opset = options.targetOpset;
    } else if (options.verbose) {
      llvm::errs() << "[kiln] importing at opset " << opset << ": conversion to "
                   << options.targetOpset << " failed: " << stepMessage << "\n";
    }
    if (isolatedOnnxStep(model, true, inferShapes, stepMessage) != StepResult::Done) {
      error.messages.push_back(path + ": ONNX shape inference after conversion: " + stepMessage);
      return nullptr;
    }
    graph = model.mutable_graph();
  }

  // 3. Unsupported ops, all at once.
  const OpTable &table = opTable();
  std::function<void(const onnx::GraphProto &)> listUnsupported =
      [&](const onnx::GraphProto &g) {
        for (int i = 0; i < g.node_size(); ++i) {
          const auto &node = g.node(i);
          bool defaultDomain = node.domain().empty() || node.domain() == "ai.onnx";
          if (!defaultDomain || !table.count(node.op_type())) {
            std::string type =
                defaultDomain ? node.op_type() : node.domain() + "." + node.op_type();
            error.unsupported[type].push_back(node.name().empty() ? "#" + std::to_string(i)
                                                                  : node.name());
          }
          for (const auto &attr : node.attribute())
            if (attr.has_g())
              listUnsupported(attr.g());
        }
      };
  listUnsupported(*graph);
  if (!error.empty())
    return nullptr;

  // 4. Import.
  OpBuilder builder(&context);
  auto fileLoc = FileLineColLoc::get(&context, path, 0, 0);
  OwningOpRef<ModuleOp> module = ModuleOp::create(fileLoc);
  std::map<std::string, Value> values;
  SmallVector<Type> inputTypes;
  SmallVector<std::string> inputNames;
  for (const auto &input : graph->input()) {
    if (initializerNames.count(input.name()))
      continue;
    const auto &tensorType = input.type().tensor_type();
    Type elementType = onnxElementType(&context, tensorType.elem_type());
    if (elementType && elementType.isBF16()) {
      error.messages.push_back("input '" + input.name() +
                               "': bfloat16 model inputs are not supported (.npy has no bfloat16)");
      return nullptr;
    }
    if (!elementType) {
      error.messages.push_back("input '" + input.name() + "' has unsupported element type " +
                               std::to_string(tensorType.elem_type()));
      return nullptr;
    }
    SmallVector<int64_t> shape;
    for (const auto &dim : tensorType.shape().dim()) {
      if (dim.dim_value() < 0) {
        error.messages.push_back("input '" + input.name() + "' has dimension " +
                                 std::to_string(dim.dim_value()) +
                                 "; give a size with --input-shape " + input.name() + "=...");
        return nullptr;
      }
      shape.push_back(dim.dim_value());
    }
    inputTypes.push_back(RankedTensorType::get(shape, elementType));
    inputNames.push_back(input.name());
  }
  for (const auto &entry : options.boundInputs)
    if (std::find(inputNames.begin(), inputNames.end(), entry.first) == inputNames.end()) {
      error.messages.push_back("--bind names '" + entry.first + "', which is not a model input");
      return nullptr;
    }
  // Bound inputs (--bind) become constants and leave the signature.
  SmallVector<Type> argTypes;
  SmallVector<std::string> argNames;
  for (size_t i = 0; i < inputNames.size(); ++i)
    if (!options.boundInputs.count(inputNames[i])) {
      argTypes.push_back(inputTypes[i]);
      argNames.push_back(inputNames[i]);
    }
  builder.setInsertionPointToEnd(module->getBody());
  auto func = func::FuncOp::create(builder, fileLoc, "main",
                                   builder.getFunctionType(argTypes, {}));
  Block *entry = func.addEntryBlock();
  builder.setInsertionPointToEnd(entry);
  for (size_t i = 0, arg = 0; i < inputNames.size(); ++i) {
    auto bound = options.boundInputs.find(inputNames[i]);
    if (bound != options.boundInputs.end()) {
      auto type = llvm::cast<RankedTensorType>(inputTypes[i]);
      if (int64_t(bound->second.size()) != type.getNumElements() &&
          !(bound->second.size() == 1 && type.getNumElements() > 0)) {
        error.messages.push_back("--bind " + inputNames[i] + " gives " +
                                 std::to_string(bound->second.size()) +
                                 " values; the input has shape " +
                                 shapeToString(type.getShape()));
        return nullptr;
      }
      std::vector<double> floats = bound->second;
      if (floats.size() == 1 && type.getNumElements() != 1)
        floats.assign(type.getNumElements(), floats[0]);
      std::vector<int64_t> ints;
      for (double f : floats)
        ints.push_back(toInt64(f));
      values[inputNames[i]] = ConstantOp::create(
          builder, fileLoc, type, buildConstant(type, floats, ints, "bound"));
    } else {
      values[inputNames[i]] = entry->getArgument(arg++);
    }
  }
  NodeImporter::Sequences sequences;
  int64_t importedNodes = 0;
  // Imports a graph's initializers and nodes into the current scope; subgraphs of If and
  // Loop come through here too (their names see the enclosing scope, as ONNX specifies).
  std::function<LogicalResult(const onnx::GraphProto &)> importGraph =
      [&](const onnx::GraphProto &g) -> LogicalResult {
    for (const auto &init : g.initializer()) {
      std::string message;
      auto attr = readTensorProto(&context, init, modelDir, message, &modelBytesLeft);
      if (failed(attr)) {
        error.messages.push_back(message);
        return failure();
      }
      values[init.name()] =
          ConstantOp::create(builder, NameLoc::get(builder.getStringAttr(init.name())),
                             llvm::cast<RankedTensorType>(attr->getType()), *attr);
    }
    for (int i = 0; i < g.node_size(); ++i) {
      const auto &node = g.node(i);
      std::string label = nodeLabel(node, i);
      if (++importedNodes > options.maxNodes) {
        error.messages.push_back(label + ": the model imports more than " +
                                 std::to_string(options.maxNodes) +
                                 " nodes, counting unrolled loops and subgraphs (raise the "
                                 "limit with --max-nodes)");
        return failure();
      }
      auto loc = NameLoc::get(builder.getStringAttr(label), fileLoc);
      for (const auto &name : node.input())
        if (!name.empty() && !values.count(name) && !sequences.count(name)) {
          error.messages.push_back(label + ": input '" + name + "' is not defined before use");
          return failure();
        }
      if (failed(checkNodeArity(node, opset, label, sequences, error)))
        return failure();
      NodeImporter importer(builder, values, sequences, node, loc, opset, importGraph);
      importer.maxLoopIterations = options.maxLoopIterations;
      // A handler that throws (a library call on a malformed node) fails this node with
      // the node's name, never the whole process.
      LogicalResult imported = failure();
      try {
        imported = table.at(node.op_type())(importer);
      } catch (const NodeImporter::Failure &) {
        imported = failure();  // the message is in importer.error
      } catch (const std::exception &e) {
        importer.error = std::string("import failed: ") + e.what();
      }
      if (failed(imported)) {
        if (!importer.error.empty() || error.messages.empty())
          error.messages.push_back(label + ": " +
                                   (importer.error.empty() ? "import failed" : importer.error));
        return failure();
      }
    }
    return success();
  };
  if (failed(importGraph(*graph)))
    return nullptr;
  SmallVector<Value> results;
  SmallVector<Attribute> outputNames;
  for (const auto &output : graph->output()) {
    auto it = values.find(output.name());
    if (it == values.end() && sequences.count(output.name())) {
      error.messages.push_back("graph output '" + output.name() +
                               "' is a sequence; sequence outputs are not supported");
      return nullptr;
    }
    if (it == values.end()) {
      error.messages.push_back("graph output '" + output.name() + "' is never produced");
      return nullptr;
    }
    if (llvm::cast<RankedTensorType>(it->second.getType()).getElementType().isBF16()) {
      error.messages.push_back("output '" + output.name() +
                               "': bfloat16 model outputs are not supported (.npy has no bfloat16)");
      return nullptr;
    }
    results.push_back(it->second);
    outputNames.push_back(builder.getStringAttr(output.name()));
  }
  func::ReturnOp::create(builder, fileLoc, results);
  func.setType(builder.getFunctionType(argTypes, ValueRange(results).getTypes()));
  SmallVector<Attribute> inputNameAttrs;
  for (const auto &name : argNames)
    inputNameAttrs.push_back(builder.getStringAttr(name));
  func->setAttr("kiln.input_names", builder.getArrayAttr(inputNameAttrs));
  func->setAttr("kiln.output_names", builder.getArrayAttr(outputNames));
  // Sizes every later stage can hold: kernels address tensors with Halide's 32-bit
  // extents and strides, so a tensor has at most 2^31 - 1 elements (checked without
  // overflow: a dimension of 2^62 must not wrap into a small size).
  auto tooLarge = [](RankedTensorType type) { return !isAddressableShape(type.getShape()); };
  std::string sizeError;
  // (Inputs were checked before shape inference.)
  module->walk([&](Operation *op) {
    for (Value result : op->getResults()) {
      auto type = llvm::dyn_cast<RankedTensorType>(result.getType());
      if (!type || !sizeError.empty() || !tooLarge(type))
        continue;
      std::string where;
      llvm::raw_string_ostream os(where);
      op->getLoc().print(os);
      sizeError = where + ": a result of shape " + shapeToString(type.getShape()) +
                  " has more than 2^31 - 1 elements (the most a kiln kernel can address) or a "
                  "negative dimension";
    }
  });
  if (!sizeError.empty()) {
    error.messages.push_back(sizeError);
    return nullptr;
  }
  // A length known only at run time reaches the program's outputs table, not other ops
  // (their kernels are compiled for static shapes).
  module->walk([&](WithExtentOp extent) {
    for (Operation *user : extent->getUsers())
      if (!isa<func::ReturnOp>(user) && sizeError.empty()) {
        // The importer's node labels ("node 'NAME' (OP)"), without the file location.
        auto label = [](Location loc) {
          if (auto name = llvm::dyn_cast<NameLoc>(loc))
            return name.getName().str();
          std::string text;
          llvm::raw_string_ostream os(text);
          loc.print(os);
          return text;
        };
        sizeError = label(extent->getLoc()) + ": its output's length depends on the data, and " +
                    "it feeds " + label(user->getLoc()) +
                    "; kiln supports such outputs only as model outputs so far";
      }
  });
  if (!sizeError.empty()) {
    error.messages.push_back(sizeError);
    return nullptr;
  }
  return module;
}

} // namespace kiln
