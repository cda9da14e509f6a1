//===- SplitConvBorders.cpp - drop convolution taps that only read padding ===//
//
// See Passes.td. Per spatial axis, output position o reads input o*s - pad + k*d at tap k,
// so the taps it reads in bounds form one range [k0(o), k1(o)]. Consecutive positions with
// the same range are a band. A convolution whose every axis is one band needs no padding
// at all: it becomes a pad-free convolution with the weights cut to that range. Otherwise,
// when padding is a large share of the multiply-adds (a dilated 3x3 on a map not much
// larger than its dilation, as in DeepLabV3's ASPP), the output is split into the product
// of the bands, each a pad-free convolution of the input slice it reads, and concatenated.
// Convolutions with a little padding (a 3x3 with pad 1 on a large map) or little work per
// piece (a depthwise 5x5 on a 7x7 map) keep the zero border: splitting them would only add
// kernels.
//
//===----------------------------------------------------------------------===//
#include "dialects/kiln/Transforms/Passes.h"

#include "dialects/kiln/IR/KilnConstants.h"
#include "dialects/kiln/IR/KilnOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include <functional>

namespace kiln {
#define GEN_PASS_DEF_SPLITCONVBORDERSPASS
#include "dialects/kiln/Transforms/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace kiln {
namespace {

/// Output positions [begin, end) of one axis that read taps [firstTap, lastTap] in bounds.
struct Band {
  int64_t begin, end, firstTap, lastTap;
};

/// The bands of one axis, or empty when some output position reads no tap in bounds (its
/// value is the bias alone; left to the general kernel).
std::vector<Band> axisBands(int64_t in, int64_t out, int64_t kernel, int64_t stride,
                            int64_t padBegin, int64_t dilation) {
  std::vector<Band> bands;
  for (int64_t o = 0; o < out; ++o) {
    int64_t start = o * stride - padBegin;  // input index of tap 0
    // Taps k with 0 <= start + k*d <= in - 1.
    int64_t first = start >= 0 ? 0 : (-start + dilation - 1) / dilation;
    int64_t last = in - 1 - start < 0 ? -1 : std::min(kernel - 1, (in - 1 - start) / dilation);
    if (first > last)
      return {};
    if (!bands.empty() && bands.back().firstTap == first && bands.back().lastTap == last)
      bands.back().end = o + 1;
    else
      bands.push_back({o, o + 1, first, last});
  }
  return bands;
}

struct SplitConvBordersPass : impl::SplitConvBordersPassBase<SplitConvBordersPass> {
  using SplitConvBordersPassBase::SplitConvBordersPassBase;

  void runOnOperation() override {
    SmallVector<ConvOp> convs;
    getOperation().walk([&](ConvOp conv) { convs.push_back(conv); });
    for (ConvOp conv : convs)
      split(conv);
  }

  void split(ConvOp conv) {
    auto weight = conv.getWeight().getDefiningOp<ConstantOp>();
    auto inType = llvm::cast<RankedTensorType>(conv.getInput().getType());
    auto outType = conv.getType();
    auto weightType = llvm::cast<RankedTensorType>(conv.getWeight().getType());
    int64_t spatial = inType.getRank() - 2;
    if (!weight || spatial < 1 || spatial > 3 || !inType.hasStaticShape() ||
        !weightType.getElementType().isF32())
      return;
    auto pads = conv.getPads();
    if (llvm::all_of(pads, [](int64_t p) { return p == 0; }))
      return;
    std::vector<std::vector<Band>> bands(spatial);
    double valid = 1.0, total = 1.0;
    int64_t pieces = 1;
    for (int64_t i = 0; i < spatial; ++i) {
      int64_t kernel = weightType.getShape()[2 + i];
      bands[i] = axisBands(inType.getShape()[2 + i], outType.getShape()[2 + i], kernel,
                           conv.getStrides()[i], pads[i], conv.getDilations()[i]);
      if (bands[i].empty())
        return;
      double taps = 0.0;
      for (const Band &band : bands[i])
        taps += double(band.end - band.begin) * double(band.lastTap - band.firstTap + 1);
      valid *= taps;
      total *= double(outType.getShape()[2 + i]) * double(kernel);
      pieces *= int64_t(bands[i].size());
    }
    // One piece: always worth it (no border, fewer taps). Several: only when padding is a
    // large share of the work, the pieces stay few and each is big enough to outweigh a
    // kernel launch and its share of the concatenation (a 5x5 depthwise with pad 2 on a 7x7
    // map, padding 31% of its multiply-adds, ran 4x slower in 25 pieces: MNASNet).
    int64_t batch = inType.getShape()[0], filters = outType.getShape()[1];
    double macs = valid * double(batch) * double(filters) * double(weightType.getShape()[1]);
    bool worth = pieces == 1 || (1.0 - valid / total >= minPaddedShare && pieces <= maxPieces &&
                                 macs / double(pieces) >= minPieceWork);
    if (!worth)
      return;
    auto weights = readConstant(weight.getValue());
    if (!weights)
      return;
    std::string blob = "conv";
    if (auto resource = llvm::dyn_cast<DenseResourceElementsAttr>(weight.getValue()))
      blob = resource.getRawHandle().getKey().str();

    OpBuilder builder(conv);
    Location loc = conv.getLoc();
    // One piece per combination of bands; concatenated innermost axis first.
    std::function<Value(int64_t, std::vector<const Band *> &)> build =
        [&](int64_t axis, std::vector<const Band *> &chosen) -> Value {
      if (axis == spatial)
        return piece(builder, loc, conv, *weights, blob, chosen);
      std::vector<Value> parts;
      for (const Band &band : bands[axis]) {
        chosen.push_back(&band);
        parts.push_back(build(axis + 1, chosen));
        chosen.pop_back();
      }
      if (parts.size() == 1)
        return parts[0];
      SmallVector<int64_t> shape(llvm::cast<RankedTensorType>(parts[0].getType()).getShape());
      shape[2 + axis] = outType.getShape()[2 + axis];
      auto type = RankedTensorType::get(shape, outType.getElementType());
      return ConcatOp::create(builder, loc, type, parts, builder.getI64IntegerAttr(2 + axis));
    };
    std::vector<const Band *> chosen;
    Value result = build(0, chosen);
    conv.getResult().replaceAllUsesWith(result);
    conv->erase();
    if (weight->use_empty())
      weight->erase();
  }

  /// A pad-free convolution of the input slice that one band per axis reads.
  Value piece(OpBuilder &builder, Location loc, ConvOp conv, const ConstantValues &weights,
              const std::string &blob, const std::vector<const Band *> &chosen) {
    auto inType = llvm::cast<RankedTensorType>(conv.getInput().getType());
    auto weightType = llvm::cast<RankedTensorType>(conv.getWeight().getType());
    int64_t spatial = int64_t(chosen.size());
    SmallVector<int64_t> starts(inType.getRank(), 0), sliceShape(inType.getShape());
    SmallVector<int64_t> outShape(conv.getType().getShape()), weightShape(weightType.getShape());
    SmallVector<int64_t> dilations(conv.getDilations());
    bool wholeInput = true;
    for (int64_t i = 0; i < spatial; ++i) {
      const Band &band = *chosen[i];
      int64_t stride = conv.getStrides()[i], dilation = conv.getDilations()[i];
      starts[2 + i] = band.begin * stride - conv.getPads()[i] + band.firstTap * dilation;
      sliceShape[2 + i] = (band.end - 1 - band.begin) * stride +
                          (band.lastTap - band.firstTap) * dilation + 1;
      wholeInput &= starts[2 + i] == 0 && sliceShape[2 + i] == inType.getShape()[2 + i];
      outShape[2 + i] = band.end - band.begin;
      weightShape[2 + i] = band.lastTap - band.firstTap + 1;
      if (weightShape[2 + i] == 1)
        dilations[i] = 1;
    }
    Value input = conv.getInput();
    if (!wholeInput) {
      auto sliceType = RankedTensorType::get(sliceShape, inType.getElementType());
      input = SliceOp::create(builder, loc, sliceType, input, builder.getDenseI64ArrayAttr(starts),
                              builder.getDenseI64ArrayAttr(
                                  SmallVector<int64_t>(inType.getRank(), 1)));
    }
    // The weight cut to the chosen taps: [F, C/g, taps...], row-major.
    std::vector<double> cut;
    int64_t filters = weightShape[0] * weightShape[1];
    SmallVector<int64_t> full(weightType.getShape());
    std::vector<int64_t> index(spatial, 0);
    for (int64_t fc = 0; fc < filters; ++fc) {
      std::fill(index.begin(), index.end(), 0);
      while (true) {
        int64_t offset = fc;
        for (int64_t i = 0; i < spatial; ++i)
          offset = offset * full[2 + i] + chosen[i]->firstTap + index[i];
        cut.push_back(weights.floats[offset]);
        int64_t axis = spatial - 1;
        while (axis >= 0 && ++index[axis] == weightShape[2 + axis])
          index[axis--] = 0;
        if (axis < 0)
          break;
      }
    }
    auto cutType = RankedTensorType::get(weightShape, weightType.getElementType());
    Value weight = cutType == weightType
                       ? conv.getWeight()
                       : Value(ConstantOp::create(builder, loc, cutType,
                                                  buildConstant(cutType, cut, {}, blob + ".taps")));
    auto outType = RankedTensorType::get(outShape, conv.getType().getElementType());
    return ConvOp::create(builder, loc, outType, input, weight, conv.getBias(),
                          conv.getStridesAttr(),
                          builder.getDenseI64ArrayAttr(SmallVector<int64_t>(2 * spatial, 0)),
                          builder.getDenseI64ArrayAttr(dilations), conv.getGroupsAttr());
  }
};

} // namespace
} // namespace kiln
