//===- OpsSampling.cpp - GridSample, DFT -----------------------------------===//
//
// GridSample reads the input at positions a grid gives, so it decomposes into elementwise
// coordinate arithmetic and GatherElements over each (n, c) plane flattened: per axis,
// the normalized coordinate is mapped to pixels (align_corners), rounded (nearest), moved
// inside the borders (border: clamped; reflection: reflected; bicubic leaves it) and split
// into taps (1, 2 or 4 per axis), each clamped or reflected inside again, whose weights
// zero padding masks; every pair of taps is one gather. The arithmetic follows PyTorch's
// grid sampler, as onnxruntime does.
//
//===----------------------------------------------------------------------===//
#include "compiler/frontends/onnx/NodeImporter.h"

#include <cmath>

using namespace mlir;

namespace kiln {
namespace {

/// Elementwise arithmetic on grid-shaped tensors [N, 1, Ho, Wo], with scalars broadcast.
struct GridMath {
  NodeImporter &n;
  Type f;
  Value c(double v) { return n.scalar(v, f); }
  Value add(Value a, Value b) { return n.must(n.binary<AddOp>(a, b)); }
  Value sub(Value a, Value b) { return n.must(n.binary<SubOp>(a, b)); }
  Value mul(Value a, Value b) { return n.must(n.binary<MulOp>(a, b)); }
  Value div(Value a, Value b) { return n.must(n.binary<DivOp>(a, b)); }
  Value min(Value a, Value b) { return n.must(n.binary<MinOp>(a, b)); }
  Value max(Value a, Value b) { return n.must(n.binary<MaxOp>(a, b)); }
  Value floor(Value a) { return n.unary<FloorOp>(a); }
  Value lt(Value a, Value b) { return n.must(n.compare("lt", a, b)); }
  Value eq(Value a, Value b) { return n.must(n.compare("eq", a, b)); }
  Value select(Value p, Value a, Value b) { return n.must(n.select(p, a, b)); }
  Value either(Value a, Value b) { return n.must(n.binary<OrOp>(a, b)); }
  Value clamp(Value a, double lo, double hi) { return max(min(a, c(hi)), c(lo)); }
  /// ONNX's _gs_reflect: folds x into [lo, hi] by reflecting at the borders.
  Value reflect(Value x, double lo, double hi) {
    double range = hi - lo;
    if (range <= 0)
      return mul(x, c(0.0));  // a one-pixel axis with aligned corners: every x is 0
    Value below = lt(x, c(lo)), above = lt(c(hi), x);
    Value dx = select(below, sub(c(lo), x), sub(x, c(hi)));
    Value folds = floor(div(dx, c(range)));
    Value rest = sub(dx, mul(folds, c(range)));
    Value even = eq(n.must(n.binary<FmodOp>(folds, c(2.0))), c(0.0));
    Value fromLo = add(c(lo), rest), fromHi = sub(c(hi), rest);
    Value reflected = select(below, select(even, fromLo, fromHi), select(even, fromHi, fromLo));
    return select(either(below, above), reflected, x);
  }
  /// C's truncation toward zero.
  Value trunc(Value x) { return select(lt(x, c(0.0)), n.unary<CeilOp>(x), floor(x)); }
};

/// One axis of the sampling: its taps' pixel indices (float, inside [0, d)) and weights.
struct AxisTaps {
  std::vector<Value> index, weight;
};

LogicalResult importGridSample(NodeImporter &n) {
  Value x = n.input(0), grid = n.input(1);
  ArrayRef<int64_t> xs = n.shapeOf(x), gs = n.shapeOf(grid);
  if (xs.size() != 4 || gs.size() != 4 || gs[3] != 2 || gs[0] != xs[0])
    return n.fail("GridSample takes X [N, C, H, W] and grid [N, Ho, Wo, 2]; got " +
                  shapeToString(xs) + " and " + shapeToString(gs));
  Type f = n.typeOf(grid).getElementType(), xt = n.typeOf(x).getElementType();
  if (!llvm::isa<FloatType>(f) || !llvm::isa<FloatType>(xt))
    return n.fail("X and grid must be floating point");
  std::string mode = n.stringAttr("mode", "bilinear");
  if (mode == "linear")
    mode = "bilinear";
  if (mode == "cubic")
    mode = "bicubic";
  std::string padding = n.stringAttr("padding_mode", "zeros");
  bool align = n.intAttr("align_corners", 0) != 0;
  if (mode != "bilinear" && mode != "nearest" && mode != "bicubic")
    return n.fail("unknown mode '" + mode + "'");
  if (padding != "zeros" && padding != "border" && padding != "reflection")
    return n.fail("unknown padding_mode '" + padding + "'");
  int64_t N = xs[0], C = xs[1], H = xs[2], W = xs[3], Ho = gs[1], Wo = gs[2];
  GridMath m{n, f};
  Shape plane{N, 1, Ho, Wo};

  // The grid's x (width) and y (height) as [N, 1, Ho, Wo].
  auto component = [&](int64_t k) {
    Value part = n.create<SliceOp>(n.tensorType({N, Ho, Wo, 1}, f), grid,
                                   n.builder.getDenseI64ArrayAttr({0, 0, 0, k}),
                                   n.builder.getDenseI64ArrayAttr({1, 1, 1, 1}));
    return n.reshape(part, plane);
  };
  static constexpr double kCubic = -0.75;
  auto taps = [&](Value normalized, int64_t d) {
    double lo = align ? 0.0 : -0.5, hi = align ? double(d - 1) : double(d) - 0.5;
    Value coord = align ? m.mul(m.add(normalized, m.c(1)), m.c(0.5 * double(d - 1)))
                        : m.mul(m.sub(m.mul(m.add(normalized, m.c(1)), m.c(double(d))), m.c(1)),
                                m.c(0.5));
    if (mode == "nearest")
      coord = n.unary<RoundOp>(coord);  // half to even, as PyTorch's nearbyint
    // Bicubic pads each tap, not the coordinate (PyTorch's sampler, which onnxruntime
    // follows; ONNX's reference clamps the coordinate first, which differs for border).
    if (mode == "bicubic")
      ;
    else if (padding == "border")
      coord = m.select(m.either(m.lt(coord, m.c(lo)), m.lt(m.c(hi), coord)),
                       m.clamp(coord, 0, double(d - 1)), coord);
    else if (padding == "reflection")
      coord = m.reflect(coord, lo, hi);
    AxisTaps result;
    auto addTap = [&](Value i, Value w) {
      if (padding == "zeros") {
        Value inside = n.must(n.binary<AndOp>(m.lt(i, m.c(double(d))),
                                              n.must(n.compare("ge", i, m.c(0.0)))));
        w = m.select(inside, w, m.c(0.0));
      } else if (padding == "reflection") {
        i = m.trunc(m.reflect(i, lo, hi));
      }  // (border: the clamp below)
      result.index.push_back(m.clamp(i, 0, double(d - 1)));
      result.weight.push_back(w);
    };
    if (mode == "nearest") {
      addTap(coord, m.c(1.0));
      return result;
    }
    Value first = m.floor(coord), t = m.sub(coord, first);
    if (mode == "bilinear") {
      addTap(first, m.sub(m.c(1.0), t));
      addTap(m.add(first, m.c(1.0)), t);
      return result;
    }
    // Keys' cubic convolution with a = -0.75 at distances t + 1, t, 1 - t, 2 - t.
    Value t1 = m.add(t, m.c(1.0)), s = m.sub(m.c(1.0), t), s1 = m.sub(m.c(2.0), t);
    auto outer = [&](Value u) {  // ((a u - 5a) u + 8a) u - 4a
      return m.sub(m.mul(m.add(m.mul(m.sub(m.mul(u, m.c(kCubic)), m.c(5 * kCubic)), u),
                               m.c(8 * kCubic)),
                         u),
                   m.c(4 * kCubic));
    };
    auto inner = [&](Value u) {  // ((a + 2) u - (a + 3)) u u + 1
      return m.add(m.mul(m.mul(m.sub(m.mul(u, m.c(kCubic + 2)), m.c(kCubic + 3)), u), u),
                   m.c(1.0));
    };
    addTap(m.sub(first, m.c(1.0)), outer(t1));
    addTap(first, inner(t));
    addTap(m.add(first, m.c(1.0)), inner(s));
    addTap(m.add(first, m.c(2.0)), outer(s1));
    return result;
  };
  AxisTaps along = taps(component(0), W), down = taps(component(1), H);

  // Each pair of taps gathers from the (n, c) planes flattened to H * W.
  Type i64 = n.builder.getI64Type();
  Value flat = n.reshape(x, {N, C, H * W});
  Value sum;
  for (size_t a = 0; a < down.index.size(); ++a)
    for (size_t b = 0; b < along.index.size(); ++b) {
      Value position = m.add(m.mul(down.index[a], m.c(double(W))), along.index[b]);
      Value index = n.create<CastOp>(n.tensorType(plane, i64), position);
      index = n.reshape(index, {N, 1, Ho * Wo});
      index = n.create<ExpandOp>(n.tensorType({N, C, Ho * Wo}, i64), index);
      Value pixels = n.create<GatherElementsOp>(n.tensorType({N, C, Ho * Wo}, xt), flat, index,
                                                n.builder.getI64IntegerAttr(2));
      pixels = n.reshape(pixels, {N, C, Ho, Wo});
      Value weight = m.mul(down.weight[a], along.weight[b]);
      if (xt != f)
        weight = n.create<CastOp>(n.tensorType(n.shapeOf(weight), xt), weight);
      Value term = n.must(n.binary<MulOp>(pixels, weight));
      sum = sum ? n.must(n.binary<AddOp>(sum, term)) : term;
    }
  n.setOutput(0, sum);
  return success();
}

/// DFT (opset 17): products with cosine and sine matrices over the signal axis (moved
/// last), built at compile time for the signal's static length; dft_length pads with
/// zeros or truncates; onesided keeps the first N/2 + 1 frequencies; inverse conjugates
/// and divides by N.
LogicalResult importDFT(NodeImporter &n) {
  Value x = n.input(0);
  ArrayRef<int64_t> shape = n.shapeOf(x);
  Type f = n.typeOf(x).getElementType();
  if (!llvm::isa<FloatType>(f) || shape.size() < 3 || (shape.back() != 1 && shape.back() != 2))
    return n.fail("input must be floating point [batch, signal..., 1 or 2], got " +
                  shapeToString(shape));
  int64_t rank = int64_t(shape.size()) - 1;  // without the real/imaginary axis
  auto axis = n.axis(n.intAttr("axis", 1), rank);
  if (failed(axis))
    return failure();
  if (*axis == 0)
    return n.fail("axis 0 is the batch axis");
  bool inverse = n.intAttr("inverse", 0) != 0, onesided = n.intAttr("onesided", 0) != 0;
  if (inverse && onesided)
    return n.fail("onesided inverse DFT is not supported");
  int64_t length = shape[*axis];
  if (n.input(1)) {
    auto given = n.constantInts(1, "dft_length");
    if (failed(given))
      return failure();
    if (given->size() != 1 || (*given)[0] < 1 || (*given)[0] > (int64_t(1) << 16))
      return n.fail("dft_length must be one value in [1, 65536]");
    length = (*given)[0];
  }
  int64_t frequencies = onesided ? length / 2 + 1 : length;
  // The real and imaginary parts, the signal axis last, padded or cut to `length`.
  Shape partShape(shape.begin(), shape.end() - 1);
  SmallVector<int64_t> perm;
  for (int64_t d = 0; d < rank; ++d)
    if (d != *axis)
      perm.push_back(d);
  perm.push_back(*axis);
  auto part = [&](int64_t k) -> Value {
    Shape sliced(shape);
    sliced.back() = 1;
    SmallVector<int64_t> starts(shape.size(), 0), steps(shape.size(), 1);
    starts.back() = k;
    Value v = n.create<SliceOp>(n.tensorType(sliced, f), x, n.builder.getDenseI64ArrayAttr(starts),
                                n.builder.getDenseI64ArrayAttr(steps));
    v = n.transpose(n.reshape(v, partShape), perm);
    Shape moved(n.shapeOf(v));
    if (length != moved.back()) {
      int64_t kept = std::min(length, moved.back());
      Shape cut(moved);
      cut.back() = kept;
      SmallVector<int64_t> zeros(moved.size(), 0), ones(moved.size(), 1);
      v = n.create<SliceOp>(n.tensorType(cut, f), v, n.builder.getDenseI64ArrayAttr(zeros),
                            n.builder.getDenseI64ArrayAttr(ones));
      if (kept < length) {
        SmallVector<int64_t> pads(2 * cut.size(), 0);
        pads.back() = length - kept;
        cut.back() = length;
        v = n.create<PadOp>(n.tensorType(cut, f), v, n.builder.getStringAttr("constant"),
                            n.builder.getDenseI64ArrayAttr(pads), n.builder.getF64FloatAttr(0));
      }
    }
    return v;
  };
  Value re = part(0), im = shape.back() == 2 ? part(1) : Value();
  Shape moved(n.shapeOf(re));
  int64_t rows = elementCount(moved) / length;
  std::vector<double> cosines(length * frequencies), sines(length * frequencies);
  for (int64_t t = 0; t < length; ++t)
    for (int64_t k = 0; k < frequencies; ++k) {
      double angle = 2 * M_PI * double((t * k) % length) / double(length);
      double scale = inverse ? 1.0 / double(length) : 1.0;
      cosines[t * frequencies + k] = std::cos(angle) * scale;
      sines[t * frequencies + k] = std::sin(angle) * scale * (inverse ? 1 : -1);
    }
  Value c = n.constant({length, frequencies}, f, cosines), s = n.constant({length, frequencies}, f, sines);
  auto product = [&](Value v, Value m) {
    return n.create<MatmulOp>(n.tensorType({rows, frequencies}, f), n.reshape(v, {rows, length}), m);
  };
  // (re + i im)(cos + i sin): re cos - im sin, re sin + im cos (the sign of sin picks the
  // direction).
  Value outRe = product(re, c), outIm = product(re, s);
  if (im) {
    outRe = n.must(n.binary<SubOp>(outRe, product(im, s)));
    outIm = n.must(n.binary<AddOp>(outIm, product(im, c)));
  }
  Shape result(moved);
  result.back() = frequencies;
  SmallVector<int64_t> back(rank);
  for (int64_t d = 0; d < rank; ++d)
    back[perm[d]] = d;
  auto restore = [&](Value v) {
    Value r = n.transpose(n.reshape(v, result), back);
    Shape withPart(n.shapeOf(r));
    withPart.push_back(1);
    return n.reshape(r, withPart);
  };
  Value parts[2] = {restore(outRe), restore(outIm)};
  Shape final(n.shapeOf(parts[0]));
  final.back() = 2;
  n.setOutput(0, n.create<ConcatOp>(n.tensorType(final, f), ValueRange(parts),
                                    n.builder.getI64IntegerAttr(int64_t(final.size()) - 1)));
  return success();
}

/// RoiAlign: bilinear samples on a grid per output bin of each box, averaged (or the
/// largest weighted corner), as onnxruntime computes it; a host op (a loop over boxes whose
/// sample grids depend on the box coordinates, a model input).
LogicalResult importRoiAlign(NodeImporter &n) {
  Value x = n.input(0), rois = n.input(1), batches = n.input(2);
  ArrayRef<int64_t> xs = n.shapeOf(x), rs = n.shapeOf(rois);
  Type f32 = n.builder.getF32Type();
  if (xs.size() != 4 || rs.size() != 2 || rs[1] != 4 || n.shapeOf(batches) != ArrayRef<int64_t>{rs[0]} ||
      n.typeOf(x).getElementType() != f32 || n.typeOf(rois).getElementType() != f32 ||
      !n.typeOf(batches).getElementType().isInteger(64))
    return n.fail("RoiAlign takes float32 X [N, C, H, W], rois [boxes, 4] and int64 "
                  "batch_indices [boxes]");
  std::string mode = n.stringAttr("mode", "avg"),
              transform = n.stringAttr("coordinate_transformation_mode", "half_pixel");
  if ((mode != "avg" && mode != "max") || (transform != "half_pixel" && transform != "output_half_pixel"))
    return n.fail("unknown mode '" + mode + "' or coordinate_transformation_mode '" + transform + "'");
  int64_t height = n.intAttr("output_height", 1), width = n.intAttr("output_width", 1),
          ratio = n.intAttr("sampling_ratio", 0);
  if (height < 1 || width < 1 || ratio < 0 || ratio > 1024)
    return n.fail("output sizes must be positive and sampling_ratio in [0, 1024]");
  n.setOutput(0, RoiAlignOp::create(n.builder, n.loc, n.tensorType({rs[0], xs[1], height, width}, f32),
                                    x, rois, batches, n.builder.getI64IntegerAttr(ratio),
                                    n.builder.getBoolAttr(mode == "max"),
                                    n.builder.getBoolAttr(transform == "half_pixel"),
                                    n.builder.getF64FloatAttr(n.floatAttr("spatial_scale", 1.0))));
  return success();
}

} // namespace

void registerSamplingOps(OpTable &t) {
  t["RoiAlign"] = importRoiAlign;
  t["GridSample"] = importGridSample;
  t["DFT"] = importDFT;
}

} // namespace kiln
