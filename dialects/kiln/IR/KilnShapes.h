//===- KilnShapes.h - shape rules of the kiln ops -------------------------===//
//
// One implementation of each op's result-shape rule, used by the ONNX importer to build
// result types and by the op verifiers to check them, so the two can never disagree.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_DIALECT_IR_KILNSHAPES_H
#define KILN_DIALECT_IR_KILNSHAPES_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/SmallVector.h"
#include <cstdint>
#include <optional>
#include <string>

namespace kiln {

using Shape = llvm::SmallVector<int64_t, 6>;

/// NumPy broadcast of two shapes; std::nullopt when they are incompatible.
std::optional<Shape> broadcastShapes(llvm::ArrayRef<int64_t> a, llvm::ArrayRef<int64_t> b);

/// Output extents of a sliding window along one axis (floor mode).
int64_t windowOutputSize(int64_t input, int64_t kernel, int64_t stride, int64_t padBegin,
                         int64_t padEnd, int64_t dilation);

/// Result of kiln.conv; error text in `error` when the operands do not fit together.
std::optional<Shape> convResultShape(llvm::ArrayRef<int64_t> input,
                                     llvm::ArrayRef<int64_t> weight,
                                     llvm::ArrayRef<int64_t> strides,
                                     llvm::ArrayRef<int64_t> pads,
                                     llvm::ArrayRef<int64_t> dilations, int64_t groups,
                                     std::string &error);

/// Result of kiln.conv_transpose (pads already include output_padding as negative end pads).
std::optional<Shape> convTransposeResultShape(llvm::ArrayRef<int64_t> input,
                                              llvm::ArrayRef<int64_t> weight,
                                              llvm::ArrayRef<int64_t> strides,
                                              llvm::ArrayRef<int64_t> pads,
                                              llvm::ArrayRef<int64_t> dilations,
                                              int64_t groups, std::string &error);

/// Result of kiln.matmul on operands of rank >= 2.
std::optional<Shape> matmulResultShape(llvm::ArrayRef<int64_t> lhs, llvm::ArrayRef<int64_t> rhs,
                                       std::string &error);

/// Number of elements of a static shape.
int64_t elementCount(llvm::ArrayRef<int64_t> shape);

/// "1x3x48x192" style text for messages.
/// Whether every dimension is non-negative and the element count, zero dimensions counted
/// as 1, is at most 2^31 - 1 (kernels address tensors with Halide's 32-bit extents), so
/// any product of its dimensions fits; computed without overflow.
bool isAddressableShape(llvm::ArrayRef<int64_t> shape);

std::string shapeToString(llvm::ArrayRef<int64_t> shape);

} // namespace kiln

#endif
