//===- WinogradConv.cpp - 3x3 stride-1 convolutions as Winograd F(m, 3) ----===//
//
// See Passes.td. Runs after BatchNorm folding and quantization (only float weights are
// transformed) and before weight packing and kernel formation.
//
//===----------------------------------------------------------------------===//
#include "dialects/kiln/Transforms/Passes.h"

#include "dialects/kiln/IR/KilnConstants.h"
#include "dialects/kiln/IR/KilnOps.h"
#include "dialects/kiln/IR/KilnWinograd.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectResourceBlobManager.h"

namespace kiln {
#define GEN_PASS_DEF_WINOGRADCONVPASS
#include "dialects/kiln/Transforms/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace kiln {
namespace {

bool allOnes(ArrayRef<int64_t> values) {
  return llvm::all_of(values, [](int64_t v) { return v == 1; });
}

/// U[a, b, f / 16, c, f % 16] = (G g[f, c] G^T)[a, b] (strips of `strip` channels, 16 by default),
/// accumulated in double; zero for the output channels that pad F to a multiple of 16.
std::vector<float> transformWeight(const float *weight, int64_t filters, int64_t channels,
                                   const WinogradTransforms &w, int64_t strip) {
  int alpha = w.alpha;
  std::vector<float> points(size_t(alpha * alpha * filters * channels));  // [a, b, f, c]
  for (int64_t f = 0; f < filters; ++f)
    for (int64_t c = 0; c < channels; ++c) {
      const float *g = weight + (f * channels + c) * 9;
      double gg[6][3];  // G g
      for (int a = 0; a < alpha; ++a)
        for (int j = 0; j < 3; ++j) {
          gg[a][j] = 0;
          for (int i = 0; i < 3; ++i)
            gg[a][j] += w.g[a * 3 + i] * g[i * 3 + j];
        }
      for (int a = 0; a < alpha; ++a)
        for (int b = 0; b < alpha; ++b) {
          double sum = 0;
          for (int j = 0; j < 3; ++j)
            sum += gg[a][j] * w.g[b * 3 + j];
          points[((a * alpha + b) * filters + f) * channels + c] = float(sum);
        }
    }
  int64_t padded = (filters + strip - 1) / strip * strip;
  std::vector<float> u;
  for (int point = 0; point < alpha * alpha; ++point)
    appendChannelStrips(u, points.data() + point * filters * channels, filters, channels,
                        channels, 1, padded, strip);
  return u;
}

/// Relative cost of F(m x m) per weight element (input x output channel pair): the
/// alpha^2 points' multiply-adds over all tiles, plus reading the alpha^2 transformed
/// weights, which costs about as much as 8 tiles' multiply-adds (about 25 GB/s of memory
/// bandwidth against 100 GFLOP/s per core). Measured on ResNet-50 (1 thread, AVX-512):
/// 14x14 maps 1.08 ms with F(4x4) against 1.30 ms with F(2x2), 7x7 maps 1.61 against 1.53.
int64_t winogradCost(int m, ArrayRef<int64_t> result) {
  int64_t tiles = ((result[2] + m - 1) / m) * ((result[3] + m - 1) / m);
  return (m + 2) * (m + 2) * (tiles + 8);
}

struct WinogradConvPass : impl::WinogradConvPassBase<WinogradConvPass> {
  using WinogradConvPassBase::WinogradConvPassBase;

  void runOnOperation() override {
    if (tile != 0 && tile != 2 && tile != 4) {
      getOperation().emitError("kiln-winograd-conv: tile must be 0 (by map size), 2 or 4, got ")
          << int64_t(tile);
      return signalPassFailure();
    }
    getOperation().walk([&](ConvOp conv) {
      auto constant = conv.getWeight().getDefiningOp<ConstantOp>();
      auto type = llvm::cast<RankedTensorType>(conv.getWeight().getType());
      ArrayRef<int64_t> s = type.getShape();  // [F, C, 3, 3]
      ArrayRef<int64_t> result = conv.getType().getShape();
      if (!constant || !type.getElementType().isF32() || s.size() != 4 || s[2] != 3 ||
          s[3] != 3 || conv.getGroups() != 1 || !allOnes(conv.getStrides()) ||
          !allOnes(conv.getDilations()) || s[0] < minChannels || s[1] < minChannels)
        return;
      std::vector<char> bytes = constantBytes(constant.getValue());
      if (bytes.size() != size_t(type.getNumElements()) * 4)
        return;
      int m = tile ? int(tile) : winogradCost(4, result) <= winogradCost(2, result) ? 4 : 2;
      WinogradTransforms transforms = winogradTransforms(m);
      std::vector<float> u = transformWeight(reinterpret_cast<const float *>(bytes.data()),
                                             s[0], s[1], transforms, strip);
      OpBuilder builder(conv);
      auto uType = RankedTensorType::get({transforms.alpha, transforms.alpha,
                                          (s[0] + strip - 1) / strip, s[1], strip},
                                         type.getElementType());
      ConstantOp uConstant = createRearrangedWeight(builder, constant, uType, "winograd", u);
      auto winograd = WinogradConvOp::create(builder, conv.getLoc(), conv.getType(),
                                             conv.getInput(), uConstant, conv.getBias(),
                                             conv.getPadsAttr(), builder.getI64IntegerAttr(m));
      conv.replaceAllUsesWith(winograd.getResult());
      conv.erase();
      if (constant->use_empty())
        constant->erase();
    });
  }
};

} // namespace
} // namespace kiln
