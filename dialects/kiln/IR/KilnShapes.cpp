//===- KilnShapes.cpp - shape rules of the kiln ops -----------------------===//
//
// See KilnShapes.h. Pure arithmetic on int64 vectors: no MLIR types, so the importer and
// the verifiers can both call it.
//
//===----------------------------------------------------------------------===//
#include "dialects/kiln/IR/KilnShapes.h"

#include <algorithm>

namespace kiln {

std::optional<Shape> broadcastShapes(llvm::ArrayRef<int64_t> a, llvm::ArrayRef<int64_t> b) {
  size_t rank = std::max(a.size(), b.size());
  Shape result(rank, 1);
  for (size_t i = 0; i < rank; ++i) {
    int64_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    int64_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    if (da != db && da != 1 && db != 1)
      return std::nullopt;
    result[i] = da == 1 ? db : da;
  }
  return result;
}

int64_t windowOutputSize(int64_t input, int64_t kernel, int64_t stride, int64_t padBegin,
                         int64_t padEnd, int64_t dilation) {
  int64_t effective = dilation * (kernel - 1) + 1;
  int64_t span = input + padBegin + padEnd - effective;
  if (span < 0)
    return 0;
  return span / stride + 1;
}

static bool checkWindowAttrs(size_t spatial, llvm::ArrayRef<int64_t> strides,
                             llvm::ArrayRef<int64_t> pads, llvm::ArrayRef<int64_t> dilations,
                             std::string &error) {
  if (strides.size() != spatial || dilations.size() != spatial || pads.size() != 2 * spatial) {
    error = "expects " + std::to_string(spatial) + " strides and dilations and " +
            std::to_string(2 * spatial) + " pads";
    return false;
  }
  for (size_t i = 0; i < spatial; ++i)
    if (strides[i] < 1 || dilations[i] < 1) {
      error = "strides and dilations must be positive";
      return false;
    }
  return true;
}

std::optional<Shape> convResultShape(llvm::ArrayRef<int64_t> input,
                                     llvm::ArrayRef<int64_t> weight,
                                     llvm::ArrayRef<int64_t> strides,
                                     llvm::ArrayRef<int64_t> pads,
                                     llvm::ArrayRef<int64_t> dilations, int64_t groups,
                                     std::string &error) {
  if (input.size() < 3 || weight.size() != input.size()) {
    error = "input and weight must have the same rank >= 3";
    return std::nullopt;
  }
  size_t spatial = input.size() - 2;
  if (!checkWindowAttrs(spatial, strides, pads, dilations, error))
    return std::nullopt;
  if (groups < 1 || input[1] % groups != 0 || weight[0] % groups != 0 ||
      weight[1] * groups != input[1]) {
    error = "channels " + std::to_string(input[1]) + " do not match weight " +
            shapeToString(weight) + " with " + std::to_string(groups) + " groups";
    return std::nullopt;
  }
  Shape result{input[0], weight[0]};
  for (size_t i = 0; i < spatial; ++i)
    result.push_back(windowOutputSize(input[2 + i], weight[2 + i], strides[i], pads[i],
                                      pads[spatial + i], dilations[i]));
  return result;
}

std::optional<Shape> convTransposeResultShape(llvm::ArrayRef<int64_t> input,
                                              llvm::ArrayRef<int64_t> weight,
                                              llvm::ArrayRef<int64_t> strides,
                                              llvm::ArrayRef<int64_t> pads,
                                              llvm::ArrayRef<int64_t> dilations,
                                              int64_t groups, std::string &error) {
  if (input.size() < 3 || weight.size() != input.size()) {
    error = "input and weight must have the same rank >= 3";
    return std::nullopt;
  }
  size_t spatial = input.size() - 2;
  if (!checkWindowAttrs(spatial, strides, pads, dilations, error))
    return std::nullopt;
  if (groups < 1 || weight[0] != input[1] || input[1] % groups != 0) {
    error = "channels " + std::to_string(input[1]) + " do not match weight " +
            shapeToString(weight) + " with " + std::to_string(groups) + " groups";
    return std::nullopt;
  }
  Shape result{input[0], weight[1] * groups};
  for (size_t i = 0; i < spatial; ++i)
    result.push_back(strides[i] * (input[2 + i] - 1) + dilations[i] * (weight[2 + i] - 1) + 1 -
                     pads[i] - pads[spatial + i]);
  return result;
}

std::optional<Shape> matmulResultShape(llvm::ArrayRef<int64_t> lhs, llvm::ArrayRef<int64_t> rhs,
                                       std::string &error) {
  if (lhs.size() < 2 || rhs.size() < 2) {
    error = "operands must have rank >= 2";
    return std::nullopt;
  }
  if (lhs.back() != rhs[rhs.size() - 2]) {
    error = "contraction sizes differ: " + shapeToString(lhs) + " x " + shapeToString(rhs);
    return std::nullopt;
  }
  auto batch = broadcastShapes(lhs.drop_back(2), rhs.drop_back(2));
  if (!batch) {
    error = "batch dimensions do not broadcast: " + shapeToString(lhs) + " x " +
            shapeToString(rhs);
    return std::nullopt;
  }
  Shape result = *batch;
  result.push_back(lhs[lhs.size() - 2]);
  result.push_back(rhs.back());
  return result;
}

int64_t elementCount(llvm::ArrayRef<int64_t> shape) {
  // Saturating: shapes from hostile models are checked by isAddressableShape, and a count
  // computed before that check must not overflow.
  int64_t n = 1;
  for (int64_t d : shape)
    if (__builtin_mul_overflow(n, d, &n))
      return d < 0 ? INT64_MIN : INT64_MAX;
  return n;
}

std::string shapeToString(llvm::ArrayRef<int64_t> shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? "," : "") + std::to_string(shape[i]);
  return s + "]";
}

bool isAddressableShape(llvm::ArrayRef<int64_t> shape) {
  // Zero dimensions count as 1: an empty tensor's other dimensions (and products of them,
  // which importers compute for sub-shapes) must fit as well.
  uint64_t elements = 1;
  for (int64_t d : shape) {
    uint64_t extent = d == 0 ? 1 : uint64_t(d);
    if (d < 0 || elements > uint64_t(INT32_MAX) / extent)
      return false;
    elements *= extent;
  }
  return true;
}

} // namespace kiln
