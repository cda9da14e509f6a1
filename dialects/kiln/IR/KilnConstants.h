//===- KilnConstants.h - reading and building constant tensors ------------===//
//
// Constants reach kiln in two forms: small DenseElementsAttr (shapes, scalars) and
// dense_resource blobs (weights). Folders, the importer and the weights writer all need
// their values; these helpers read either form and build the right one back.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_DIALECT_IR_KILNCONSTANTS_H
#define KILN_DIALECT_IR_KILNCONSTANTS_H

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include <cstdint>
#include <optional>
#include <vector>

namespace kiln {

/// The values of a constant, as doubles and (for integer and bool types) as int64.
struct ConstantValues {
  mlir::RankedTensorType type;
  bool isInteger = false;
  std::vector<double> floats;   // always filled
  std::vector<int64_t> ints;    // filled when isInteger
};

/// Constants above this many elements are not folded (folding is for shapes, scalars and
/// per-channel vectors; whole weight tensors are transformed by dedicated passes).
constexpr int64_t kMaxFoldedElements = 1 << 22;

/// A double as int64, saturating at the range's ends and 0 for NaN (a plain cast of inf
/// or NaN is undefined behavior; models carry both).
inline int64_t toInt64(double value) {
  if (!(value == value))
    return 0;
  if (value >= 9223372036854775807.0)
    return INT64_MAX;
  if (value <= -9223372036854775808.0)
    return INT64_MIN;
  return int64_t(value);
}

/// Decodes little-endian element bytes of `type` (bool: one byte per element);
/// std::nullopt when the byte count does not match.
std::optional<ConstantValues> decodeConstant(mlir::RankedTensorType type,
                                             llvm::ArrayRef<char> data);

/// Reads a dense or dense_resource constant; std::nullopt for other forms or huge ones.
std::optional<ConstantValues> readConstant(mlir::Attribute attr);

/// Builds a constant of `type` from doubles (or ints for integer types). Tensors with more
/// than 16 elements become dense_resource blobs named after `blobHint`.
mlir::ElementsAttr buildConstant(mlir::RankedTensorType type, llvm::ArrayRef<double> floats,
                                 llvm::ArrayRef<int64_t> ints, llvm::StringRef blobHint);

/// buildConstant for a folder's result, within the context's folding budget
/// (KilnDialect::maxFoldedBytes): a null attribute (the op stays unfolded) when the result
/// has over kMaxFoldedElements elements or would pass the budget.
mlir::Attribute buildFoldedConstant(mlir::RankedTensorType type, llvm::ArrayRef<double> floats,
                                    llvm::ArrayRef<int64_t> ints);

/// Whether a folder may build a constant of `type` (checked before computing its values).
bool mayFold(mlir::RankedTensorType type);

/// Little-endian bytes of `type`'s element encoding for the values (what the weights file
/// stores). Bool is one byte per element.
std::vector<char> encodeConstant(const ConstantValues &values);

/// Raw bytes of a constant without conversion when it is a dense_resource blob, else encodes.
std::vector<char> constantBytes(mlir::ElementsAttr attr);

/// Whether `type` is an integer (or bool) element type.
bool isIntegerElement(mlir::Type type);

/// Size in bytes of one element as stored (bool: 1).
int64_t elementByteSize(mlir::Type type);

} // namespace kiln

#endif
