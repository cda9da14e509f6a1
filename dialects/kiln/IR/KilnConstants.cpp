//===- KilnConstants.cpp - reading and building constant tensors ----------===//
//
// See KilnConstants.h. Values pass through double (and int64 for integer types), which is
// exact for every element type kiln folds: float16/32/64 and integers up to 64 bits.
//
//===----------------------------------------------------------------------===//
#include "dialects/kiln/IR/KilnConstants.h"
#include "dialects/kiln/IR/KilnDialect.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "llvm/ADT/APFloat.h"
#include <cstring>

using namespace mlir;

namespace kiln {

bool isIntegerElement(Type type) { return llvm::isa<IntegerType>(type); }

int64_t elementByteSize(Type type) {
  if (auto intType = llvm::dyn_cast<IntegerType>(type))
    return intType.getWidth() == 1 ? 1 : intType.getWidth() / 8;
  if (auto floatType = llvm::dyn_cast<FloatType>(type))
    return floatType.getWidth() / 8;
  return 0;
}

static double decodeFloat(Type type, const char *p) {
  if (type.isF32()) {
    float v;
    std::memcpy(&v, p, 4);
    return v;
  }
  if (type.isF64()) {
    double v;
    std::memcpy(&v, p, 8);
    return v;
  }
  uint16_t bits;
  std::memcpy(&bits, p, 2);
  llvm::APFloat value(type.isF16() ? llvm::APFloat::IEEEhalf() : llvm::APFloat::BFloat(),
                      llvm::APInt(16, bits));
  return value.convertToDouble();
}

static int64_t decodeInt(IntegerType type, const char *p) {
  unsigned width = type.getWidth();
  uint64_t raw = 0;
  std::memcpy(&raw, p, width == 1 ? 1 : width / 8);
  if (width == 1)
    return raw & 1 ? 1 : 0;
  if (type.isUnsigned() || width == 64)
    return static_cast<int64_t>(raw);
  uint64_t sign = uint64_t(1) << (width - 1);
  return static_cast<int64_t>((raw ^ sign) - sign);
}

std::optional<ConstantValues> decodeConstant(RankedTensorType type, ArrayRef<char> data) {
  Type elementType = type.getElementType();
  int64_t count = type.getNumElements(), size = elementByteSize(elementType);
  if (size == 0 || int64_t(data.size()) != size * count)
    return std::nullopt;
  ConstantValues result;
  result.type = type;
  result.isInteger = isIntegerElement(elementType);
  result.floats.reserve(count);
  for (int64_t i = 0; i < count; ++i) {
    const char *p = data.data() + i * size;
    if (auto intType = llvm::dyn_cast<IntegerType>(elementType)) {
      int64_t v = decodeInt(intType, p);
      result.ints.push_back(v);
      result.floats.push_back(intType.isUnsigned() ? double(uint64_t(v)) : double(v));
    } else {
      result.floats.push_back(decodeFloat(elementType, p));
    }
  }
  return result;
}

std::optional<ConstantValues> readConstant(Attribute attr) {
  auto elements = llvm::dyn_cast_or_null<ElementsAttr>(attr);
  if (!elements)
    return std::nullopt;
  auto type = llvm::dyn_cast<RankedTensorType>(elements.getType());
  if (!type || !type.hasStaticShape() || type.getNumElements() > kMaxFoldedElements)
    return std::nullopt;
  Type elementType = type.getElementType();
  ConstantValues result;
  result.type = type;
  result.isInteger = isIntegerElement(elementType);
  int64_t count = type.getNumElements();
  result.floats.reserve(count);
  if (auto dense = llvm::dyn_cast<DenseElementsAttr>(attr)) {
    if (auto intType = llvm::dyn_cast<IntegerType>(elementType)) {
      for (const APInt &v : dense.getValues<APInt>()) {
        int64_t i = intType.getWidth() == 1 ? int64_t(v.getBoolValue())
                    : intType.isUnsigned()  ? int64_t(v.getZExtValue())
                                            : v.getSExtValue();
        result.ints.push_back(i);
        result.floats.push_back(intType.isUnsigned() ? double(uint64_t(i)) : double(i));
      }
    } else if (llvm::isa<FloatType>(elementType)) {
      for (const APFloat &v : dense.getValues<APFloat>())
        result.floats.push_back(v.convertToDouble());
    } else {
      return std::nullopt;
    }
    return result;
  }
  if (auto resource = llvm::dyn_cast<DenseResourceElementsAttr>(attr)) {
    AsmResourceBlob *blob = resource.getRawHandle().getBlob();
    if (!blob)
      return std::nullopt;
    return decodeConstant(type, blob->getData());
  }
  return std::nullopt;
}

std::vector<char> encodeConstant(const ConstantValues &values) {
  Type elementType = values.type.getElementType();
  int64_t size = elementByteSize(elementType);
  size_t count = values.floats.size();
  std::vector<char> bytes(count * size);
  for (size_t i = 0; i < count; ++i) {
    char *p = bytes.data() + i * size;
    if (values.isInteger) {
      int64_t v = values.ints[i];
      if (elementType.getIntOrFloatBitWidth() == 1)
        v = v != 0;
      std::memcpy(p, &v, size); // little endian: low bytes first
    } else if (elementType.isF32()) {
      float v = float(values.floats[i]);
      std::memcpy(p, &v, 4);
    } else if (elementType.isF64()) {
      std::memcpy(p, &values.floats[i], 8);
    } else {
      llvm::APFloat v(values.floats[i]);
      bool lost;
      v.convert(elementType.isF16() ? llvm::APFloat::IEEEhalf() : llvm::APFloat::BFloat(),
                llvm::APFloat::rmNearestTiesToEven, &lost);
      uint16_t bits = uint16_t(v.bitcastToAPInt().getZExtValue());
      std::memcpy(p, &bits, 2);
    }
  }
  return bytes;
}

ElementsAttr buildConstant(RankedTensorType type, ArrayRef<double> floats,
                           ArrayRef<int64_t> ints, StringRef blobHint) {
  Type elementType = type.getElementType();
  bool isInteger = isIntegerElement(elementType);
  int64_t count = type.getNumElements();
  if (count <= 16) {
    if (auto intType = llvm::dyn_cast<IntegerType>(elementType)) {
      SmallVector<APInt> values;
      for (int64_t i = 0; i < count; ++i)
        values.push_back(APInt(intType.getWidth(), uint64_t(ints[i]), !intType.isUnsigned()));
      return DenseElementsAttr::get(type, values);
    }
    SmallVector<APFloat> values;
    for (int64_t i = 0; i < count; ++i) {
      APFloat v(floats[i]);
      bool lost;
      v.convert(llvm::cast<FloatType>(elementType).getFloatSemantics(),
                APFloat::rmNearestTiesToEven, &lost);
      values.push_back(v);
    }
    return DenseElementsAttr::get(type, values);
  }
  ConstantValues values;
  values.type = type;
  values.isInteger = isInteger;
  values.floats.assign(floats.begin(), floats.end());
  if (isInteger)
    values.ints.assign(ints.begin(), ints.end());
  else
    values.floats.resize(count);
  std::vector<char> bytes = encodeConstant(values);
  AsmResourceBlob blob = HeapAsmResourceBlob::allocateAndCopyWithAlign(
      ArrayRef<char>(bytes.data(), bytes.size()), 64);
  return DenseResourceElementsAttr::get(type, blobHint, std::move(blob));
}

static KilnDialect *kilnDialect(MLIRContext *context) {
  return context->getOrLoadDialect<KilnDialect>();
}

bool mayFold(RankedTensorType type) {
  KilnDialect *dialect = kilnDialect(type.getContext());
  int64_t count = type.getNumElements();
  if (count > kMaxFoldedElements)
    return false;
  if (dialect->foldedBytes + count * elementByteSize(type.getElementType()) >
      dialect->maxFoldedBytes) {
    dialect->foldingStopped = true;
    return false;
  }
  return true;
}

Attribute buildFoldedConstant(RankedTensorType type, ArrayRef<double> floats,
                              ArrayRef<int64_t> ints) {
  if (!mayFold(type))
    return {};
  kilnDialect(type.getContext())->foldedBytes +=
      type.getNumElements() * elementByteSize(type.getElementType());
  return buildConstant(type, floats, ints, "folded");
}

std::vector<char> constantBytes(ElementsAttr attr) {
  if (auto resource = llvm::dyn_cast<DenseResourceElementsAttr>(attr))
    if (AsmResourceBlob *blob = resource.getRawHandle().getBlob()) {
      ArrayRef<char> data = blob->getData();
      return std::vector<char>(data.begin(), data.end());
    }
  auto values = readConstant(attr);
  if (!values)
    return {};
  return encodeConstant(*values);
}

} // namespace kiln
