//===- CpuSchedule.cpp - schedule templates shared by the CPU targets -----===//
//
// The schedule half of codegen for x86 and ARM: stages that reduce (conv, matmul, pool,
// reductions) are computed at root; elementwise work stays inlined into the consumer that
// writes the kernel output. Loops are vectorized along the innermost (contiguous) axis and
// parallelized along the outermost axis with more than one iteration.
//
// Measured (PP-OCRv4 det 1x3x640x640, 2 threads, Xeon AVX-512 VM): see docs/benchmarks.md.
// The direct conv loop nest keeps accumulators in memory (L1-resident rows); register
// blocking and packed layouts are the next step (issue: x86 performance).
//
//===----------------------------------------------------------------------===//
#include "targets/cpu/CpuBackend.h"

#include <algorithm>
#include <stdexcept>

using namespace Halide;

namespace kiln {
namespace {

/// Extent of Halide dimension `d` of `t` (dimension 0 is the innermost ONNX axis).
int extentOf(const TensorFunc &t, int d) { return int(t.shape[t.shape.size() - 1 - d]); }

/// Values a stage reduces per output element: the product of its RDom's constant extents
/// (1 for a pure stage).
int64_t reductionSize(const KernelStage &stage) {
  int64_t size = 1;
  for (int i = 0; stage.reduction.defined() && i < stage.reduction.dimensions(); ++i)
    if (const int64_t *extent = as_const_int(stage.reduction[i].extent()))
      size *= *extent;
  return size;
}

/// The outermost dimension with more than one iteration, or -1.
int parallelDim(const TensorFunc &t) {
  for (int d = int(t.vars.size()) - 1; d >= 1; --d)
    if (extentOf(t, d) > 1)
      return d;
  return -1;
}

void schedulePure(Func f, const TensorFunc &t, int lanes, bool parallel) {
  if (t.vars.empty())
    return;
  int lanesFor = lanes * 32 / std::max(8, t.type.bits());
  // Rows narrower than a vector (13x13 pooling, 7x7 maps) take the widest vector that fits
  // (at least 4 lanes) rather than none: SqueezeNet's 27 -> 13 max pools ran scalar.
  while (lanesFor > 4 && extentOf(t, 0) < lanesFor)
    lanesFor /= 2;
  if (extentOf(t, 0) >= lanesFor)
    f.vectorize(t.vars[0], lanesFor);
  int p = parallelDim(t);
  if (parallel && p >= 0)
    f.parallel(t.vars[p]);
  // Updates that copy into slices (a concatenation's inputs): the same, over the dimensions
  // they keep as pure variables.
  for (int u = 0; u < f.num_update_definitions(); ++u) {
    std::vector<Expr> args = f.update_args(u);
    auto pure = [&](int d) {
      const auto *var = args[d].as<Halide::Internal::Variable>();
      return var && var->name == t.vars[d].name();
    };
    Stage update = f.update(u);
    if (pure(0) && extentOf(t, 0) >= lanesFor)
      update.vectorize(t.vars[0], lanesFor, TailStrategy::GuardWithIf);  // RoundUp would read past
    for (int d = int(t.vars.size()) - 1; parallel && d >= 1; --d)
      if (pure(d) && extentOf(t, d) > 1) {
        update.parallel(t.vars[d]);
        break;
      }
  }
}

void scheduleReductionUpdate(const KernelStage &stage, int lanes, bool parallel) {
  const TensorFunc &t = stage.tensor;
  Func f = t.func;
  f.compute_root();
  schedulePure(f, t, lanes, parallel);
  if (!stage.reduction.defined() || t.vars.empty())
    return;
  Halide::Stage update = f.update();
  // Innermost: a vector of outputs along the contiguous axis; then the reduction; then the
  // remaining output axes. Each reduction step is then one vector multiply-add.
  std::vector<VarOrRVar> order;
  Var inner("inner"), outer("outer");
  bool vectorized = extentOf(t, 0) >= lanes;
  if (vectorized) {
    update.split(t.vars[0], outer, inner, lanes, TailStrategy::GuardWithIf);
    order.push_back(inner);
  }
  for (int i = 0; i < stage.reduction.dimensions(); ++i)
    order.push_back(stage.reduction[i]);
  if (vectorized)
    order.push_back(outer);
  else
    order.push_back(t.vars[0]);
  for (size_t d = 1; d < t.vars.size(); ++d)
    order.push_back(t.vars[d]);
  update.reorder(order);
  if (vectorized)
    update.vectorize(inner);
  int p = parallelDim(t);
  if (parallel && p >= 0)
    update.parallel(t.vars[p]);
}

/// Whether scheduleContractionAtOutput can tile `stage` at `output` (the planner asks
/// before choosing the template, so a plan never names a template that would decline).
bool contractionTilesFit(const KernelStage &stage, const TensorFunc &output, int rowDim,
                         int lanes, bool hasWeights) {
  const TensorFunc &t = stage.tensor;
  if (t.vars.size() < 2 || rowDim < 1 || rowDim >= int(t.vars.size()) ||
      output.shape != t.shape || !stage.reduction.defined())
    return false;
  int extentX = extentOf(t, 0), extentY = extentOf(t, rowDim);
  if (extentY == 1 && rowDim == 1 && hasWeights && t.vars.size() == 2 &&
      stage.reduction.dimensions() == 1 && extentX >= 4)
    return true;  // the batch-1 GEMV form
  int narrow = lanes;
  while (narrow > extentX)
    narrow /= 2;
  return narrow >= 4;
}

/// Whether scheduleConvAcrossChannels can tile `stage` at `output`.
bool acrossChannelsFit(const KernelStage &stage, const TensorFunc &output, int lanes) {
  const TensorFunc &t = stage.tensor;
  return t.vars.size() == 4 && output.shape == t.shape && stage.reduction.defined() &&
         extentOf(t, 2) >= lanes && stage.filtersPerGroup % lanes == 0;
}

/// Output channels per across-channels register tile: two vectors, or three where those
/// divide the channels and two do not. A tile shifted inwards off a multiple of the weight
/// strip reads its strips unaligned, as gathers: 48 channels in tiles of 32 took 10x the
/// time of one tile of 48 (256 -> 48 channels at 13x13, SqueezeNet's squeeze layers).
int acrossChannelsTile(int64_t channels, int lanes) {
  if (channels % (2 * lanes) != 0 && channels % (3 * lanes) == 0)
    return 3 * lanes;
  return 2 * lanes;
}

/// Register-blocked schedule of a contraction stage (matmul or convolution) computed per
/// tile of the kernel's single output, which applies the elementwise epilogue while the
/// accumulators are in registers.
///
/// 1. Tile the output over (contiguous axis, row-like axis): `columns` x `rows` outputs.
/// 2. Compute the stage at each tile: its pure and update loops vectorize the contiguous
///    axis and unroll the rest, so the accumulators live in registers.
/// 3. The reduction runs innermost-but-tile: every step is `rows` broadcasts times
///    `columns / lanes` vector FMAs against one or two vector loads.
/// 4. Parallelize over row tiles (fused with the outer axes).
///
/// Measured on the 2-core AVX-512 VM (bench/kernels.js): see docs/benchmarks.md.
bool scheduleContractionAtOutput(KernelStage &stage, TensorFunc &output, int rowDim,
                                 int columns, int rows, int lanes, bool parallel,
                                 std::vector<KernelStage *> &weights,
                                 LoopLevel *rowTiles = nullptr) {
  const TensorFunc &t = stage.tensor;
  if (!contractionTilesFit(stage, output, rowDim, lanes, !weights.empty()))
    return false;
  int extentX = extentOf(t, 0), extentY = extentOf(t, rowDim);
  // Batch-1 GEMV on quantized weights: each output is a dot product along a packed row, so
  // vectorize along the row (rfactor the reduction into 32 lanes, one block) and decode the
  // weights in the inner loop, where a block's bytes are contiguous.
  if (extentY == 1 && rowDim == 1 && !weights.empty() && t.vars.size() == 2 &&
      stage.reduction.dimensions() == 1 && extentX >= 4) {
    Func out = output.func;
    const Var &n = output.vars[0];
    Var no("no"), ni("ni");
    out.split(n, no, ni, 4, TailStrategy::ShiftInwards);
    if (parallel)
      out.parallel(no);
    Func f = t.func;
    f.compute_at(out, no);
    RVar ro("ro"), ri("ri");
    Var u("u");
    Func partial = f.update().split(stage.reduction[0], ro, ri, 32, TailStrategy::GuardWithIf)
                       .rfactor(ri, u);
    // 4 rows x 2 vectors of partial sums, fully unrolled so they stay in registers.
    Var uo("uo"), ui("ui");
    partial.compute_at(out, no)
        .split(u, uo, ui, 16).vectorize(ui).unroll(uo).unroll(t.vars[0]);
    partial.update()
        .split(u, uo, ui, 16)
        .reorder(ui, uo, t.vars[0], ro)
        .vectorize(ui)
        .unroll(uo)
        .unroll(t.vars[0]);
    // The decode stays inline: each block is read once, where the dot product needs it.
    weights.clear();
    return true;
  }
  if (extentX < lanes) {
    // Narrow rows (14x14 and 7x7 feature maps): shorter vectors, more rows per tile so the
    // register tile keeps the same number of accumulators.
    int narrow = lanes;
    while (narrow > extentX)
      narrow /= 2;
    if (narrow < 4)
      return false;
    rows = std::min(rows * (lanes / narrow), 16);
    columns = narrow;
    lanes = narrow;
  }
  // A single row (batch-1 GEMV) has no rows to share loads across: spend the registers on
  // columns instead, so each weight row is read in long contiguous runs.
  if (extentY == 1 && rowDim == 1 && weights.empty())
    columns = lanes * 16;
  columns = std::min(columns, extentX / lanes * lanes);
  rows = std::max(1, std::min(rows, extentY));
  Func out = output.func;
  Var xo("xo"), xi("xi"), yo("yo"), yi("yi");
  const Var &x = output.vars[0], &y = output.vars[rowDim];
  if (rowTiles)
    *rowTiles = LoopLevel(out, yo);
  // A matmul whose weights are stored in strips of columns (kiln-pack-matmul-weights) runs
  // all row tiles on a column strip before the next: the strip (K x columns) streams once
  // from memory and then from L1/L2.
  bool stripRows = stage.kind == StageClass::Matmul && stage.weightsInStrips && rowDim == 1 &&
                   extentY > 1 && weights.empty();
  // ShiftInwards: edge tiles move inwards (recomputing a few outputs) instead of reading
  // past the inputs; the tile never exceeds the extents chosen above. Columns read from
  // strips stay aligned to the strips instead, the last tile guarded: the weights are
  // padded with zero columns to whole tiles (kiln-pack-matmul-weights), and a shifted
  // tile would straddle strips.
  TailStrategy columnTail = stripRows && extentX % columns != 0 ? TailStrategy::GuardWithIf
                                                                : TailStrategy::ShiftInwards;
  out.split(x, xo, xi, columns, columnTail)
      .split(y, yo, yi, rows, TailStrategy::ShiftInwards)
      .reorder(xi, yi, xo, yo)
      .vectorize(xi, lanes)
      .unroll(yi);
  // Loops from the inside: the register tile, x tiles (they share the rows' inputs), the axes
  // between x and the row axis, row tiles, then the batch axes; with channel tiles inside
  // (below), row tiles come right after the register tile. (Row tiles inside x tiles
  // would reuse a column strip from L2, but without packing its rows sit a power-of-two
  // stride apart and thrash the cache: measured 2x slower on 64x1024x4096.)
  //
  // A float convolution that reduces over more values than it has output channels (its
  // input is larger than its output) and whose weights fit in L2 runs all its
  // output-channel tiles on one strip of pixels before the next: the strip's input is read
  // from memory once and from L1 by the other channel tiles. With channel tiles
  // outermost, each tile streamed the whole input again. (ResNet-50, AVX-512: the 56x56
  // 256 -> 64 layers 1.42 -> 1.22 ms at 1 thread, 0.83 -> 0.65 ms at 2; the 64 -> 256
  // layers, whose input fits in L2, were 10-15% slower this way.)
  //
  // So does a pointwise one whose input is larger than L2 (1 MiB here): with channel tiles
  // outermost, every tile would read it from L3 again (ResNet-50 v1.5 at 256x448, the
  // 64 -> 256 layers on 64x112 with their residual adds: 1.50 -> 1.20 ms at 2 threads).
  int64_t reduction = reductionSize(stage);
  double inputBytes = double(reduction) * extentX * extentOf(t, 1) * 4;
  bool channelTilesInside = rowDim >= 2 && rowDim + 1 < int(output.vars.size()) &&
                            weights.empty() &&
                            (reduction > extentY || (stage.pointwise && inputBytes > 1 << 20)) &&
                            reduction * extentY * 4 <= 512 * 1024;
  bool rowTilesInside = channelTilesInside || stripRows;
  std::vector<VarOrRVar> order{xi, yi};
  if (rowTilesInside)
    order.push_back(yo);
  order.push_back(xo);
  for (int d = 1; d < rowDim; ++d)
    order.push_back(output.vars[d]);
  if (!rowTilesInside)
    order.push_back(yo);
  for (int d = int(output.vars.size()) - 1; d > rowDim; --d)
    order.push_back(output.vars[d]);
  out.reorder(order);
  bool singleRowTile = (extentY + rows - 1) / rows <= 1;
  // Depthwise tiles of image rows: the channels are the outermost loop and split across
  // threads (splitting row tiles inside it would fork and join once per channel).
  bool depthwiseRows = stage.kind == StageClass::Depthwise && rowDim == 1;
  if (parallel && depthwiseRows && output.vars.size() >= 3)
    out.parallel(output.vars[2]);
  else if (parallel && channelTilesInside)
    // Image rows, or pixel strips where the image is one flat row
    // (kiln-flatten-pointwise-kernels).
    out.parallel(extentOf(output, rowDim - 1) > 1 ? VarOrRVar(output.vars[rowDim - 1]) : VarOrRVar(xo));
  else if (parallel && stripRows)
    out.parallel(extentX / columns > 1 ? xo : yo);
  else if (parallel && singleRowTile && extentX / columns > 1)
    out.parallel(xo);  // batch-1 GEMV: split the columns across threads
  else if (parallel && !singleRowTile)
    out.parallel(yo);
  // Quantized weights: decode the tile's slice once (per column strip for a matmul, per
  // output-channel tile for a conv) into a tile-local buffer, then reuse it across the
  // tile's outputs. Rows decode vectorized along the packed row.
  for (KernelStage *w : weights) {
    w->tensor.func.compute_at(out, rowDim == 1 ? xo : yo);
    if (w->rowDimension >= 0 && extentOf(w->tensor, w->rowDimension) >= 32) {
      Var kb("kb"), kj("kj");
      w->tensor.func.reorder(w->tensor.vars[w->rowDimension], w->tensor.vars[0])
          .split(w->tensor.vars[w->rowDimension], kb, kj, 32, TailStrategy::GuardWithIf)
          .vectorize(kj, 16);
    }
  }
  Func f = t.func;
  f.compute_at(out, rowTilesInside ? yo : xo);  // the innermost tile loop
  Var fx("fx"), fxi("fxi");
  f.split(t.vars[0], fx, fxi, lanes, TailStrategy::RoundUp).vectorize(fxi).unroll(fx);
  f.unroll(t.vars[rowDim]);
  Halide::Stage update = f.update();
  Var ux("ux"), uxi("uxi");
  update.split(t.vars[0], ux, uxi, lanes, TailStrategy::RoundUp);
  std::vector<VarOrRVar> updateOrder{uxi, ux, t.vars[rowDim]};
  for (int i = 0; i < stage.reduction.dimensions(); ++i)
    updateOrder.push_back(stage.reduction[stage.reduction.dimensions() - 1 - i]);
  for (size_t d = 1; d < t.vars.size(); ++d)
    if (int(d) != rowDim)
      updateOrder.push_back(t.vars[d]);
  update.reorder(updateOrder).vectorize(uxi).unroll(ux).unroll(t.vars[rowDim]);
  // Depthwise on row tiles: the whole window unrolled, so an input row shared by the
  // tile's output rows (row y + ky for output row y) is loaded once per column vector.
  if (depthwiseRows)
    for (int i = 0; i < stage.reduction.dimensions(); ++i)
      update.unroll(stage.reduction[i]);
  return true;
}

/// A convolution with narrow output rows (7x7, 14x14) and output-channel-innermost weights:
/// vectors across output channels, a row segment of output pixels unrolled, so each
/// reduction step is one weight vector load, `pixels` input broadcasts and FMAs.
bool scheduleConvAcrossChannels(KernelStage &stage, TensorFunc &output, int lanes,
                                int vectors, int pixelTile, bool parallel) {
  const TensorFunc &t = stage.tensor;
  if (!acrossChannelsFit(stage, output, lanes))
    return false;
  int width = extentOf(t, 0), channels = extentOf(t, 2);
  int channelTile = std::min(vectors * lanes, channels / lanes * lanes);
  // Pixels per register tile: up to 8, the count that wastes least on shifted-in edge tiles
  // among those that keep at least 14 accumulators in flight (a flattened 14x14 map: 7;
  // 13x13: 7, where 5 pixels of 2 vectors wasted nothing and ran 20% slower: 512 -> 512
  // channels 0.269 -> 0.232 ms at 2 threads, bench/pointwise.sh).
  int fewest = std::min(8, std::max(5, (14 + vectors - 1) / vectors));
  int pixels = std::min(width, pixelTile > 0 ? pixelTile : 8);
  for (int candidate = pixels - 1; pixelTile == 0 && candidate >= fewest && width > 8; --candidate)
    if ((width + candidate - 1) / candidate * candidate - width <
        (width + pixels - 1) / pixels * pixels - width)
      pixels = candidate;
  Func out = output.func;
  const Var &x = output.vars[0], &y = output.vars[1], &c = output.vars[2], &n = output.vars[3];
  Var co("co"), ci("ci"), xo("xo"), xi("xi");
  out.split(c, co, ci, channelTile, TailStrategy::ShiftInwards)
      .split(x, xo, xi, pixels, TailStrategy::ShiftInwards)
      .reorder(ci, xi, xo, y, co, n)
      .vectorize(ci, lanes)
      .unroll(xi);
  // Few channel tiles (96 channels are 3 tiles of 32) would leave a thread idle for a third
  // of the kernel: then the rows are split too (MobileNetV2's 14x14 576 -> 96 projections
  // scaled 1.4x at 2 threads before).
  // A flattened map (one row, kiln-flatten-pointwise-kernels) splits pixel tiles x channel
  // tiles instead (MobileNetV2's 14x14 576 -> 96 projections at 2 threads: 0.153 -> 0.107 ms).
  Var yco("yco"), tile("tile");
  Var computeAt = xo;
  bool flat = extentOf(t, 1) == 1;
  if (parallel && channels / channelTile >= 8) {
    out.parallel(co);
  } else if (parallel && flat) {
    out.reorder(ci, xi, xo, co, y, n).fuse(xo, co, tile).parallel(tile);
    computeAt = tile;
  } else if (parallel && channels / channelTile > 1) {
    out.fuse(y, co, yco).parallel(yco);
  } else if (parallel) {
    out.parallel(y);
  }
  Func f = t.func;
  f.compute_at(out, computeAt);
  // Channels innermost in the tile's own buffer too: its vectors are then dense, and
  // where LLVM does not keep the whole tile in registers (4 vectors x 7 pixels) they are
  // not gathered and scattered at every step (0.030 instead of 1.3 ms, 384 -> 64 at 13x13).
  f.reorder_storage(t.vars[2], t.vars[0], t.vars[1], t.vars[3]);
  Var fc("fc"), fci("fci");
  f.reorder(t.vars[2], t.vars[0], t.vars[1], t.vars[3])
      .split(t.vars[2], fc, fci, lanes, TailStrategy::RoundUp)
      .vectorize(fci)
      .unroll(fc)
      .unroll(t.vars[0]);
  Halide::Stage update = f.update();
  Var uc("uc"), uci("uci");
  update.split(t.vars[2], uc, uci, lanes, TailStrategy::RoundUp);
  std::vector<VarOrRVar> order{uci, uc, t.vars[0]};
  for (int i = 0; i < stage.reduction.dimensions(); ++i)
    order.push_back(stage.reduction[stage.reduction.dimensions() - 1 - i]);
  order.push_back(t.vars[1]);
  order.push_back(t.vars[3]);
  update.reorder(order).vectorize(uci).unroll(uc).unroll(t.vars[0]);
  return true;
}

/// A matmul or convolution on interleaved quantized weights (IntegerDot in KernelAlgorithm.h).
///
/// 1. The activations are quantized once per call, before the parallel loop (K values per
///    row: small next to the K x N weights).
/// 2. `consumer` (the kernel output, or the matmul itself when something else follows) is
///    tiled into `groupTile` groups of 16 columns times `rowTile` rows; tiles of columns run
///    in parallel, and all row tiles of a column tile run back to back so its weights stay
///    in L2.
/// 3. Per tile and block, the int32 block dots of all groups x rows are VPDPBUSD
///    accumulators in registers: each 64-byte weight load feeds `rowTile` instructions, each
///    activation chunk is a broadcast operand. Then one convert and FMA per accumulator adds
///    the block into the float sums.
/// Measured on the 2-core AVX-512 VM: see docs/quantization.md (bench/quant_matvec.js).
/// The integer template's tiles: `groupTile` groups of 16 columns times `rowTile` rows.
std::pair<int, int> integerContractionTiles(const KernelStage &stage) {
  const IntegerDot &dot = stage.integerDot;
  bool conv = dot.columnDim != 0;
  int rows = extentOf(stage.tensor, conv ? 0 : 1);
  // Batch 1 (the LLM case): 4 independent accumulator chains hide VPDPBUSD's latency. A
  // convolution has pixels to spare: one group of 16 channels times 8 pixels.
  int groupTile = rows == 1 ? 4 : conv ? 1 : 2;
  while (dot.groups % groupTile)
    groupTile /= 2;
  return {groupTile, std::min(rows, conv ? 8 : 4)};
}

void scheduleIntegerContraction(KernelStage &stage, TensorFunc *output, bool parallel,
                                int groupTile, int rowTile) {
  IntegerDot &dot = stage.integerDot;
  const TensorFunc &t = stage.tensor;
  // The tiled row axis: a matmul's M (dimension 1), a convolution's x (dimension 0).
  bool conv = dot.columnDim != 0;
  int rowDim = conv ? 0 : 1;
  int rows = extentOf(t, rowDim);

  Func scale = dot.activationScale, quants = dot.activationQuants, sums = dot.activationSums;
  std::vector<Var> qv = quants.args(), sv = scale.args(), mv = sums.args();
  scale.compute_root();
  sums.compute_root();
  quants.compute_root();
  if (conv) {
    // Pixels are contiguous in the input: vectorize across them, channel by channel; the
    // quants are stored channel-innermost for the broadcasts.
    int lanes = rows >= 16 ? 16 : rows >= 8 ? 8 : 1;
    if (lanes > 1) {
      scale.vectorize(sv[1], lanes);
      sums.vectorize(mv[1], lanes);
      quants.reorder(qv[1], qv[0]).vectorize(qv[1], lanes);
    }
    if (parallel && extentOf(t, 1) > 1) {
      scale.parallel(sv[2]);
      quants.parallel(qv[2]);
      sums.parallel(mv[2]);
    }
  } else {
    if (dot.blocks >= 8) {
      scale.vectorize(sv[0], 8);
      sums.vectorize(mv[0], 8);
    }
    quants.vectorize(qv[0], dot.blocks >= 2 ? 64 : 32);
    if (parallel && rows >= 16) {
      scale.parallel(sv[1]);
      quants.parallel(qv[1]);
      sums.parallel(mv[1]);
    }
  }

  Func consumer = output ? output->func : t.func;
  std::vector<Var> vars = output ? output->vars : t.vars;
  if (!output)
    consumer.compute_root();
  Var no("no"), ni("ni"), gi("gi"), li("li"), mo("mo"), mi("mi");
  consumer.split(vars[dot.columnDim], no, ni, 16 * groupTile)
      .split(ni, gi, li, 16)
      .vectorize(li)
      .unroll(gi);
  std::vector<VarOrRVar> order{li, gi};
  if (rows > 1) {
    consumer.split(vars[rowDim], mo, mi, rowTile, TailStrategy::ShiftInwards).unroll(mi);
    order.push_back(mi);
    order.push_back(mo);
  } else {
    order.push_back(vars[rowDim]);
  }
  // Then the other axes inside the column tiles (a convolution's y: the tile's weights stay
  // in cache across all pixels), the column tiles, and the batch axes.
  for (int d = 0; d < dot.columnDim; ++d)
    if (d != rowDim)
      order.push_back(vars[d]);
  order.push_back(no);
  for (int d = dot.columnDim + 1; d < int(vars.size()); ++d)
    if (d != rowDim)
      order.push_back(vars[d]);
  consumer.reorder(order);
  if (parallel && dot.groups / groupTile > 1)
    consumer.parallel(no);
  else if (parallel && conv && extentOf(t, 1) > 1)
    consumer.parallel(vars[1]);

  Func acc = dot.accumulator;
  std::vector<Var> av = acc.args();  // lane, group, rows...
  acc.compute_at(consumer, rows > 1 ? mo : Var(vars[rowDim])).vectorize(av[0]).unroll(av[1]);
  if (rows > 1)
    acc.unroll(av[2]);
  Halide::Stage accUpdate = acc.update();
  std::vector<VarOrRVar> accOrder{av[0], av[1], av[2], dot.blockScan.x};
  for (size_t d = 3; d < av.size(); ++d)
    accOrder.push_back(av[d]);
  accUpdate.reorder(accOrder).vectorize(av[0]).unroll(av[1]);
  if (rows > 1)
    accUpdate.unroll(av[2]);

  Func blockDot = dot.blockDot;
  std::vector<Var> bv = blockDot.args();  // lane, block, group, rows...
  blockDot.compute_at(acc, dot.blockScan.x).vectorize(bv[0]).unroll(bv[2]);
  if (rows > 1)
    blockDot.unroll(bv[3]);
  for (int u = 0; u < blockDot.num_update_definitions(); ++u) {
    Halide::Stage update = blockDot.update(u);
    std::vector<VarOrRVar> dotOrder{dot.quants.x, bv[0], bv[2], bv[3], dot.quants.y, bv[1]};
    for (size_t d = 4; d < bv.size(); ++d)
      dotOrder.push_back(bv[d]);
    update.reorder(dotOrder).atomic().vectorize(dot.quants.x).vectorize(bv[0]).unroll(bv[2])
        .unroll(dot.quants.y);
    if (rows > 1)
      update.unroll(bv[3]);
  }
}

/// One of Winograd's two-pass transforms: `result` (channel, then its other dims) at root,
/// vectorized across channels with the transformed tile's dims `pointA` and `pointB`
/// unrolled and the tiles (dim `tileDim`) in parallel; the first pass `half` (channel,
/// point, point, ...) computed per channel vector inside it.
void scheduleWinogradTransform(Func result, Func half, int lanes, int pointA, int pointB,
                               int tileDim, bool parallel) {
  std::vector<Var> rv = result.args(), hv = half.args();
  std::vector<VarOrRVar> order;
  for (int d = 1; d < int(rv.size()); ++d)
    if (d != pointA && d != pointB)
      order.push_back(rv[d]);
  Var vo("vo"), vi("vi");
  order.insert(order.begin(), {vi, rv[pointA], rv[pointB], vo});
  result.compute_root()
      .split(rv[0], vo, vi, lanes, TailStrategy::GuardWithIf)
      .reorder(order)
      .vectorize(vi)
      .unroll(rv[pointA])
      .unroll(rv[pointB]);
  if (parallel)
    result.parallel(rv[tileDim]);
  half.compute_at(result, vo)
      .vectorize(hv[0], lanes, TailStrategy::GuardWithIf)
      .unroll(hv[1])
      .unroll(hv[2]);
}

/// kiln.winograd_conv (WinogradConv in KernelAlgorithm.h). Every stage is vectorized across
/// channels (16 float lanes on AVX-512), so transforms are whole-vector adds and the GEMMs
/// are register-blocked like the across-channel convolution:
/// 1. input: bordered and transposed to channels innermost (one pass over the input);
/// 2. V = B^T d B per tile and channel vector, its alpha x alpha points unrolled;
/// 3. per transformed point (a, b), in parallel: M = V U, `rows` tiles x two vectors of
///    output channels in registers, each channel step one U load per vector and one
///    broadcast per tile (U's strip of a point stays in L1/L2 across the tiles);
/// 4. A^T M A per tile and channel vector; the kernel output gathers it back to NCHW
///    with the epilogue.
void scheduleWinograd(KernelStage &stage, int lanes, int gemmRows, bool parallel) {
  WinogradConv &plan = stage.winograd;
  int channelLanes = plan.channelsIn >= lanes ? lanes : plan.channelsIn >= 8 ? 8 : 1;
  int filterLanes = plan.channelsOut >= lanes ? lanes : plan.channelsOut >= 8 ? 8 : 1;

  std::vector<Var> iv = plan.input.args();  // c, x, y, n
  plan.input.compute_root();
  if (channelLanes > 1)
    plan.input.vectorize(iv[0], channelLanes, TailStrategy::GuardWithIf);
  if (parallel)
    plan.input.parallel(iv[2]);

  // V (c, t, b, a, n) from the column pass (c, b, row, t, n).
  scheduleWinogradTransform(plan.transformed, plan.columnPass, channelLanes, 2, 3, 1, parallel);

  // The GEMMs: `products` tiled into register tiles, `product` computed per tile.
  // The weight's strips are 16 channels wide, so a register tile of two (or one) vectors
  // of columns computes the padded channels and starts within a strip. Rows: the GEMM's
  // (8 on AVX-512, 6 on AVX2; 12 on AVX-512 measured 5-10% slower).
  int padded = plan.channelsPadded;
  int columns = padded % (2 * filterLanes) == 0 ? 2 * filterLanes : filterLanes;
  int rows = std::min(plan.tileCount, gemmRows);
  std::vector<Var> sv = plan.products.args();  // f, t, b, a, n
  Var fo("fo"), fi("fi"), to("to"), ti("ti"), point("point");
  plan.products.compute_root()
      .bound(sv[0], 0, padded)
      .split(sv[0], fo, fi, columns, TailStrategy::ShiftInwards)
      .split(sv[1], to, ti, rows, TailStrategy::ShiftInwards)
      .reorder(fi, ti, to, fo, sv[2], sv[3], sv[4])
      .vectorize(fi, filterLanes)
      .unroll(ti);
  plan.products.fuse(sv[2], sv[3], point);
  if (parallel)
    plan.products.parallel(point);
  std::vector<Var> mv = plan.product.args();
  Var mf("mf"), mfi("mfi");
  plan.product.compute_at(plan.products, to)
      .split(mv[0], mf, mfi, filterLanes, TailStrategy::RoundUp)
      .vectorize(mfi)
      .unroll(mf)
      .unroll(mv[1]);
  Var uf("uf"), ufi("ufi");
  plan.product.update()
      .split(mv[0], uf, ufi, filterLanes, TailStrategy::RoundUp)
      .reorder(ufi, uf, mv[1], plan.channels.x, mv[2], mv[3], mv[4])
      .vectorize(ufi)
      .unroll(uf)
      .unroll(mv[1]);

  // Output tiles (f, j, i, t, n) from the row pass (f, j, a, t, n).
  scheduleWinogradTransform(plan.tiles, plan.rowPass, filterLanes, 1, 2, 3, parallel);
}

int powerOfTwo(int64_t value) { return value > 0 && (value & (value - 1)) == 0; }

/// Below this much work (kernelWork) a kernel runs on one thread.
constexpr double kMinParallelWork = 262144.0;
constexpr double kElementWork = 8.0;

/// Throws the error of a plan that does not fit its kernel.
[[noreturn]] void planMismatch(const std::string &where, const std::string &what) {
  throw std::runtime_error("the plan does not fit: " + where + ": " + what);
}

/// The work of a kernel in multiply-adds: its contractions' multiply-adds plus kElementWork
/// per element its other stages and its outputs write.
double kernelWork(const KernelAlgorithm &algorithm) {
  auto elements = [](const TensorFunc &t) {
    double count = 1.0;
    for (int64_t extent : t.shape)
      count *= double(extent);
    return count;
  };
  double work = 0.0;
  for (const KernelStage &stage : algorithm.stages) {
    // A stage without a reduction streams memory: an element written costs about as much
    // as kElementWork vectorized multiply-adds.
    double perElement =
        stage.reduction.defined() ? double(reductionSize(stage)) : kElementWork;
    if (stage.kind == StageClass::Winograd)
      perElement = double(std::max(1, stage.winograd.channelsIn));
    work += elements(stage.tensor) * perElement;
  }
  for (const TensorFunc &output : algorithm.outputs)
    work += elements(output) * kElementWork;
  return work;
}

} // namespace

KernelPlan planCpuKernel(const KernelAlgorithm &algorithm, const CpuRegisterTiles &tiles) {
  KernelPlan plan;
  int lanes = tiles.vectorLanes;
  plan.vectorLanes = lanes;
  plan.parallel = true;
  bool hasWeights = false;
  for (const KernelStage &stage : algorithm.stages)
    hasWeights |= stage.kind == StageClass::Weights;
  bool outputScheduled = false;   // by a contraction's template
  bool weightsWithContraction = false;
  bool depthwiseAtOutput = false;  // the output is tiled per channel by the depthwise template
  for (const KernelStage &stage : algorithm.stages) {
    StagePlan s;
    s.kind = stageClassName(stage.kind);
    s.parallel = true;
    s.vectorLanes = lanes;
    plan.stages.push_back(s);
  }
  for (size_t i = 0; i < algorithm.stages.size(); ++i) {
    const KernelStage &stage = algorithm.stages[i];
    StagePlan &s = plan.stages[i];
    if (stage.kind == StageClass::Weights ||
        (stage.kind == StageClass::Data && stage.role != DataRole::Other))
      continue;  // decided below, once the contraction's template is known
    if (stage.kind == StageClass::Winograd) {
      s.schedule = "winograd";
      s.rows = tiles.gemmRows;
      continue;
    }
    if (stage.kind == StageClass::QuantizedMatmul) {
      bool atOutput = algorithm.outputs.size() == 1 && !outputScheduled &&
                      algorithm.outputs[0].shape == stage.tensor.shape;
      auto [groupTile, rowTile] = integerContractionTiles(stage);
      s.schedule = atOutput ? "integer_dot_at_output" : "integer_dot";
      s.columns = 16 * groupTile;
      s.rows = rowTile;
      s.vectorLanes = 16;
      outputScheduled |= atOutput;
      continue;
    }
    // A contraction feeding the kernel's only output is register-blocked at the output.
    if (algorithm.outputs.size() == 1 && !outputScheduled &&
        (stage.kind == StageClass::Matmul || stage.kind == StageClass::Conv ||
         stage.kind == StageClass::Depthwise)) {
      const TensorFunc &output = algorithm.outputs[0];
      int rank = int(stage.tensor.vars.size());
      // Across channels: measured fast for pointwise convolutions (90% of peak) and, since
      // padded inputs are read from a bordered copy, for 3x3 windows on 14x14 and 7x7 maps
      // (ResNet-50, 1 thread: 3.1 -> 2.4 ms at 14x14, 6.9 -> 3.1 ms at 7x7 against the
      // narrow-row schedule). A residual add in the epilogue reads the residual across
      // channels too, a gather of one pixel column per tile, which costs less than a
      // separate pass (MobileNetV2's 14x14 64-channel projections: 0.092 ms + 0.017 ms
      // for the add -> 0.093 ms fused; ResNet-50 1 thread: 64.8 -> 61.9 ms).
      //
      // A flat row of pixels (kiln-flatten-pointwise-kernels) is faster in pixel vectors,
      // where those waste at most a sixth of their lanes, when it sums fewer than 256 input
      // channels or writes at most 64: across channels, every register tile ends in
      // transposed stores that a short reduction does not hide, and two channel tiles
      // stream the whole weight once per handful of pixels (bench/pointwise.sh, AVX-512,
      // 2 threads, in -> out channels at HxW: 48 -> 192 at 13x13 0.016 -> 0.011 ms,
      // 240 -> 80 at 14x14 0.030 -> 0.024, 80 -> 480 0.048 -> 0.040; SqueezeNet's 384 -> 64
      // squeeze at 13x13 in the model 0.080 -> 0.034). From 256 input channels to more
      // than 64 the two are within 15% either way (ResNet-50's 14x14 layers: pixel vectors
      // 13% faster at 2 threads, 5-16% slower at 1), and 10x10 or 7x7 maps waste too many
      // lanes in rows of 32.
      int64_t width = extentOf(stage.tensor, 0);
      int pixelTile = tiles.convVectors * lanes;
      bool flatInPixelVectors =
          stage.kind == StageClass::Conv && extentOf(stage.tensor, 1) == 1 &&
          (reductionSize(stage) < 256 || extentOf(stage.tensor, 2) <= 64) &&
          6 * ((width + pixelTile - 1) / pixelTile * pixelTile) <= 7 * width;
      // Rows that waste a third of their vector lanes or more (17 and 35 wide) go across
      // channels as narrow ones do (kiln-pack-conv-weights packed their weights alike).
      bool raggedRows = (width + lanes - 1) / lanes * lanes * 10 > 13 * width;
      if (stage.kind == StageClass::Conv && stage.channelsContiguous && !flatInPixelVectors &&
          (width < lanes || raggedRows || extentOf(stage.tensor, 1) == 1)) {
        if (acrossChannelsFit(stage, output, lanes)) {
          s.schedule = "across_channels";
          s.columns = acrossChannelsTile(extentOf(stage.tensor, 2), lanes);
          // Grouped: tiles that start on a group's vectors (no tile shifted inwards).
          if (stage.filtersPerGroup > 0 && extentOf(stage.tensor, 2) % s.columns != 0)
            s.columns = lanes;
          outputScheduled = true;
        }
      } else if (stage.kind == StageClass::Matmul) {
        s.rowDim = 1;
        s.columns = tiles.gemmVectors * lanes;
        s.rows = tiles.gemmRows;
      } else if (stage.kind == StageClass::Depthwise && rank == 4) {
        // A depthwise convolution: register tiles of 4 image rows x 2 vectors of one
        // channel, 0.6 of the time of channel tiles (bench/kernels.js
        // dwconv3x3_144x56x56, AVX-512: 0.199 -> 0.123 ms at 1 thread, 0.107 -> 0.070 ms
        // at 2; MobileNetV2's 14x14 and 7x7 layers about 0.7).
        s.rowDim = 1;
        s.columns = tiles.convVectors * lanes;
        s.rows = 4;
      } else if (rank >= 3) {
        s.rowDim = rank - 2;
        s.columns = tiles.convVectors * lanes;
        s.rows = stage.kind == StageClass::Depthwise ? 4 : tiles.convChannels;
      }
      if (s.rowDim >= 0) {
        if (contractionTilesFit(stage, output, int(s.rowDim), lanes, hasWeights)) {
          s.schedule = "register_tiles";
          outputScheduled = true;
          weightsWithContraction = hasWeights;
          depthwiseAtOutput = stage.kind == StageClass::Depthwise && rank == 4 && s.rowDim == 1;
        } else {
          s.rowDim = -1;
          s.columns = s.rows = 0;
        }
      }
      if (outputScheduled)
        continue;
    }
    // A pooling window read straight into the kernel's only output, inlined there: computed
    // whole first, it took a second pass that copied it into the output.
    // Its bordered input (the stage before it, when padded) is then made one plane at a
    // time in the output's channel loop.
    bool inlinePool = stage.kind == StageClass::Pool && algorithm.outputs.size() == 1 &&
                      i + 1 == algorithm.stages.size() &&
                      algorithm.outputs[0].shape == stage.tensor.shape;
    if (stage.kind == StageClass::Pool && i > 0 &&
        algorithm.stages[i - 1].kind == StageClass::Data &&
        algorithm.stages[i - 1].role == DataRole::Border)
      plan.stages[i - 1].schedule = inlinePool ? "per_channel" : "root";
    s.schedule = inlinePool ? "inline" : "root";
  }
  for (size_t i = 0; i < algorithm.stages.size(); ++i) {
    const KernelStage &stage = algorithm.stages[i];
    StagePlan &s = plan.stages[i];
    if (stage.kind == StageClass::Weights) {
      s.schedule = weightsWithContraction ? "with_contraction" : "inline";
      s.parallel = false;
      s.vectorLanes = 0;
    }
  }
  // A convolution's input paths: its bordered input and x phases.
  for (const KernelStage &stage : algorithm.stages) {
    const ConvInputPaths &paths = stage.inputPaths;
    if (stage.kind != StageClass::Conv && stage.kind != StageClass::Depthwise)
      continue;
    // A depthwise convolution reads each input plane about once: a whole bordered copy
    // would be an extra pass over memory, so where its rows take whole vectors (16 wide and
    // up, or 8 when strided) the copy is made per channel, in L1/L2, and a strided one reads
    // it with dense stride-2 vector loads (MobileNetV2, AVX-512, 1 thread: 56x56 -> 28x28
    // 0.127 -> 0.063 ms, 28x28 -> 14x14 0.045 -> 0.028 ms and 14x14 -> 7x7 0.043 -> 0.027
    // ms against x phases, 28x28 stride 1 0.088 -> 0.041 ms against a whole copy). Stride-1
    // convolutions on 14x14 and 7x7 maps measured faster with one whole copy (0.039
    // against 0.061 ms per channel for 576 channels at 14x14).
    bool planeCopy = stage.kind == StageClass::Depthwise &&
                     (tiles.smallScratch || paths.inputWidth >= 16 ||
                      (paths.strided && paths.inputWidth >= 8));
    // A window strided along x (a stem: 7x7 or 3x3, stride 2; depthwise convolutions on
    // planes under 8 wide) reads a copy of its bordered input split into x phases, so that
    // each window column is read with dense vector loads instead of a stride-2 shuffle per
    // multiply-add (ResNet-50's 7x7 stem, AVX-512 1 thread: see docs/benchmarks.md).
    bool phasesCopy = paths.phasesStage >= 0 && !planeCopy;
    if (paths.phasesStage >= 0)
      plan.stages[paths.phasesStage].schedule = phasesCopy ? "root" : "inline";
    if (paths.borderStage < 0)
      continue;
    StagePlan &border = plan.stages[paths.borderStage];
    const KernelStage &borderStage = algorithm.stages[paths.borderStage];
    if (phasesCopy || !paths.padded) {
      border.schedule = "inline";  // read through the phases (which border it themselves)
    } else if (planeCopy && depthwiseAtOutput) {
      // A plane larger than L1 (112x112) is made a few rows at a time as the row tiles
      // need them, into a rolling buffer (Halide's sliding window over the row-tile loop):
      // MobileNetV2's 112x112 -> 56x56 layer 0.216 -> 0.183 ms at 1 thread, its 112x112
      // stride-1 layer 0.112 -> 0.101 ms; smaller planes measured 5-20% slower this way.
      int64_t planeBytes = int64_t(extentOf(borderStage.tensor, 0)) *
                           extentOf(borderStage.tensor, 1) * borderStage.tensor.type.bytes();
      border.schedule = planeBytes > 32 * 1024 ? "rolling" : "per_channel";
      border.parallel = false;
    } else {
      border.schedule = "root";
    }
  }
  plan.outputs = outputScheduled ? "by_stage" : "root";
  // A kernel too small to split runs on one thread: handing a loop to the pool and waiting
  // for it costs microseconds (about 4 us a kernel on the 2-core VM: PaddleOCR's cls, 255
  // kernels of 1-2 us each, took 1.3 ms at 2 threads against 0.35 ms at 1).
  if (kernelWork(algorithm) < kMinParallelWork) {
    plan.parallel = false;
    for (StagePlan &stage : plan.stages)
      stage.parallel = false;
  }
  return plan;
}

void applyCpuPlan(KernelAlgorithm &algorithm, const KernelPlan &plan) {
  if (plan.stages.size() != algorithm.stages.size())
    planMismatch("kernel", "it has " + std::to_string(algorithm.stages.size()) +
                               " stages, the plan describes " +
                               std::to_string(plan.stages.size()));
  if (!powerOfTwo(plan.vectorLanes) || plan.vectorLanes > 64)
    planMismatch("kernel", "vector_lanes must be a power of two up to 64");
  int outputTemplates = 0;
  for (size_t i = 0; i < plan.stages.size(); ++i) {
    const StagePlan &s = plan.stages[i];
    const KernelStage &stage = algorithm.stages[i];
    std::string where = "stage " + std::to_string(i);
    if (s.kind != stageClassName(stage.kind))
      planMismatch(where, std::string("it is a ") + stageClassName(stage.kind) +
                              " stage, the plan describes a " + s.kind + " stage");
    static const std::vector<std::string> known = {
        "register_tiles", "across_channels", "integer_dot", "integer_dot_at_output",
        "winograd",       "root",            "inline",      "with_contraction",
        "per_channel",    "rolling"};
    if (std::find(known.begin(), known.end(), s.schedule) == known.end())
      planMismatch(where, "unknown schedule '" + s.schedule + "' for a CPU target");
    bool contraction = stage.kind == StageClass::Matmul || stage.kind == StageClass::Conv ||
                       stage.kind == StageClass::Depthwise;
    bool lanesUsed = s.schedule != "inline" && s.schedule != "with_contraction";
    if (lanesUsed && (!powerOfTwo(s.vectorLanes) || s.vectorLanes > 64))
      planMismatch(where, "vector_lanes must be a power of two up to 64");
    if ((s.schedule == "register_tiles" || s.schedule == "across_channels") &&
        (!contraction || algorithm.outputs.size() != 1))
      planMismatch(where, s.schedule + " needs a matmul or convolution feeding the kernel's only output");
    if (s.schedule == "register_tiles") {
      ++outputTemplates;
      if (s.columns < s.vectorLanes || s.columns % s.vectorLanes || s.columns > 1024 ||
          s.rows < 1 || s.rows > 64)
        planMismatch(where, "register_tiles needs columns a multiple of vector_lanes (up to "
                            "1024) and rows from 1 to 64");
      if (!contractionTilesFit(stage, algorithm.outputs[0], int(s.rowDim), int(s.vectorLanes),
                               false) &&
          !contractionTilesFit(stage, algorithm.outputs[0], int(s.rowDim), int(s.vectorLanes),
                               true))
        planMismatch(where, "register_tiles does not fit this stage with row_dim " +
                                std::to_string(s.rowDim));
    }
    if (s.schedule == "across_channels") {
      ++outputTemplates;
      if (stage.kind != StageClass::Conv || !acrossChannelsFit(stage, algorithm.outputs[0], int(s.vectorLanes)) ||
          s.columns < s.vectorLanes || s.columns % s.vectorLanes || s.rows < 0 || s.rows > 16)
        planMismatch(where, "across_channels needs a 4-d convolution with at least "
                            "vector_lanes output channels, columns a multiple of vector_lanes "
                            "and rows (pixels per tile; 0: chosen by width) up to 16");
    }
    if ((s.schedule == "winograd") != (stage.kind == StageClass::Winograd))
      planMismatch(where, "winograd schedules (only) Winograd stages");
    if (s.schedule == "winograd" && (s.rows < 1 || s.rows > 64))
      planMismatch(where, "winograd needs rows from 1 to 64");
    bool integer = s.schedule == "integer_dot" || s.schedule == "integer_dot_at_output";
    if (integer != (stage.kind == StageClass::QuantizedMatmul))
      planMismatch(where, "integer_dot schedules (only) quantized matmul stages");
    if (integer) {
      if (s.schedule == "integer_dot_at_output") {
        ++outputTemplates;
        if (algorithm.outputs.size() != 1 || algorithm.outputs[0].shape != stage.tensor.shape)
          planMismatch(where, "integer_dot_at_output needs the stage to be the kernel's only output");
      }
      int groupTile = int(s.columns / 16);
      if (s.columns < 16 || s.columns % 16 || stage.integerDot.groups % groupTile ||
          s.rows < 1 || s.rows > 64)
        planMismatch(where, "integer_dot needs columns a multiple of 16 dividing the " +
                                std::to_string(16 * stage.integerDot.groups) +
                                " columns and rows from 1 to 64");
    }
    if (s.schedule == "with_contraction" && stage.kind != StageClass::Weights)
      planMismatch(where, "with_contraction applies to decoded weights only");
    if (s.schedule == "inline" && stage.kind != StageClass::Weights &&
        stage.kind != StageClass::Data && stage.kind != StageClass::Pool)
      planMismatch(where, "only decoded weights, data stages (copies) and pooling windows "
                          "can be inline");
    if (stage.kind == StageClass::Weights && s.schedule != "inline" && s.schedule != "with_contraction")
      planMismatch(where, "decoded weights are scheduled 'inline' or 'with_contraction'");
    if ((s.schedule == "per_channel" || s.schedule == "rolling") &&
        !(stage.kind == StageClass::Data && stage.perOutputChannel))
      planMismatch(where, "per_channel and rolling apply to a depthwise convolution's or a "
                          "pool's bordered planes");
  }
  if (outputTemplates > 1)
    planMismatch("kernel", "more than one stage is scheduled at the kernel's output");

  bool outputScheduled = outputTemplates == 1;
  std::vector<KernelStage *> weights;
  for (size_t i = 0; i < plan.stages.size(); ++i)
    if (plan.stages[i].schedule == "with_contraction")
      weights.push_back(&algorithm.stages[i]);
  LoopLevel depthwiseRowTiles;
  bool depthwiseAtOutput = false;
  for (size_t i = 0; i < algorithm.stages.size(); ++i) {
    KernelStage &stage = algorithm.stages[i];
    const StagePlan &s = plan.stages[i];
    int lanes = int(s.vectorLanes);
    if (s.schedule == "winograd") {
      scheduleWinograd(stage, lanes, int(s.rows), s.parallel);  // the stage itself stays inline
    } else if (s.schedule == "integer_dot" || s.schedule == "integer_dot_at_output") {
      scheduleIntegerContraction(stage,
                                 s.schedule == "integer_dot" ? nullptr : &algorithm.outputs[0],
                                 s.parallel, int(s.columns / 16), int(s.rows));
    } else if (s.schedule == "across_channels") {
      scheduleConvAcrossChannels(stage, algorithm.outputs[0], lanes, int(s.columns / lanes),
                                 int(s.rows), s.parallel);
    } else if (s.schedule == "register_tiles") {
      bool depthwiseRows = stage.kind == StageClass::Depthwise &&
                           stage.tensor.vars.size() == 4 && s.rowDim == 1;
      scheduleContractionAtOutput(stage, algorithm.outputs[0], int(s.rowDim), int(s.columns),
                                  int(s.rows), lanes, s.parallel, weights,
                                  depthwiseRows ? &depthwiseRowTiles : nullptr);
      depthwiseAtOutput = depthwiseRows;
    } else if (s.schedule == "root" &&
               !(stage.kind == StageClass::Data && stage.perOutputChannel)) {
      if (stage.kind == StageClass::Conv || stage.kind == StageClass::Depthwise ||
          stage.kind == StageClass::Matmul) {
        scheduleReductionUpdate(stage, lanes, s.parallel);
      } else {
        stage.tensor.func.compute_root();
        schedulePure(stage.tensor.func, stage.tensor, lanes, s.parallel);
      }
    }
  }
  // Bordered planes made per channel, inside the depthwise template's channel loop. Storage
  // aligned to whole vectors: Halide 14 otherwise emitted aligned vector loads at the
  // plane's -1 column offset, which faulted (8-lane tiles on 28x28 -> 14x14).
  bool poolAtOutput = false;
  for (size_t j = 0; j < algorithm.stages.size(); ++j)
    poolAtOutput |= algorithm.stages[j].kind == StageClass::Pool &&
                    plan.stages[j].schedule == "inline";
  for (size_t i = 0; i < algorithm.stages.size(); ++i) {
    KernelStage &stage = algorithm.stages[i];
    const StagePlan &s = plan.stages[i];
    if (stage.kind != StageClass::Data || !stage.perOutputChannel || s.schedule == "inline")
      continue;
    Func f = stage.tensor.func;
    int lanes = int(s.vectorLanes);
    if (s.schedule == "root" || !(depthwiseAtOutput || poolAtOutput)) {
      f.compute_root();
      schedulePure(f, stage.tensor, lanes, s.parallel);
      continue;
    }
    Func out = algorithm.outputs[0].func;
    const Var &channel = algorithm.outputs[0].vars[2];
    if (s.schedule == "rolling" && depthwiseAtOutput)
      f.store_at(out, channel).compute_at(depthwiseRowTiles);
    else
      f.compute_at(out, channel);
    f.align_storage(f.args()[0], lanes);
    if (extentOf(stage.tensor, 0) >= lanes)
      f.vectorize(f.args()[0], lanes, TailStrategy::GuardWithIf);
    else if (extentOf(stage.tensor, 0) >= lanes / 2)
      f.vectorize(f.args()[0], lanes / 2, TailStrategy::GuardWithIf);
  }
  // Weights of a contraction that took another schedule stay inlined into its loop.
  if (!outputScheduled)
    for (TensorFunc &output : algorithm.outputs)
      schedulePure(output.func, output, int(plan.vectorLanes), plan.parallel);
}

std::vector<PlanKnob> cpuPlanSpace(const KernelPlan &heuristic, bool threads) {
  std::vector<PlanKnob> knobs;
  auto add = [&](int stage, const char *field, const std::string &current,
                 const std::vector<std::string> &values) {
    PlanKnob knob{stage, field, {current}};
    for (const std::string &v : values)
      if (v != current)
        knob.values.push_back(v);
    if (knob.values.size() > 1)
      knobs.push_back(std::move(knob));
  };
  auto text = [](int64_t v) { return std::to_string(v); };
  auto lanesAround = [&](int64_t lanes) {
    std::vector<std::string> values;
    for (int64_t l : {lanes / 2, lanes, lanes * 2})
      if (l >= 4 && l <= 64)
        values.push_back(text(l));
    return values;
  };
  auto multiples = [&](int64_t unit, std::initializer_list<int64_t> factors) {
    std::vector<std::string> values;
    for (int64_t f : factors)
      if (unit * f <= 1024)
        values.push_back(text(unit * f));
    return values;
  };
  const std::vector<std::string> onOff = {"1", "0"};
  // The kernel's own output schedule (when no contraction template tiles the output).
  if (heuristic.outputs == "root") {
    add(-1, "vector_lanes", text(heuristic.vectorLanes), lanesAround(heuristic.vectorLanes));
    if (threads)
      add(-1, "parallel", heuristic.parallel ? "1" : "0", onOff);
  }
  for (size_t i = 0; i < heuristic.stages.size(); ++i) {
    const StagePlan &s = heuristic.stages[i];
    int stage = int(i);
    std::string lanes = text(s.vectorLanes);
    if (s.schedule == "register_tiles" || s.schedule == "across_channels") {
      if (s.kind == "conv")  // the other direct-convolution template
        add(stage, "schedule", s.schedule, {"register_tiles", "across_channels"});
      add(stage, "vector_lanes", lanes, lanesAround(s.vectorLanes));
      add(stage, "columns", text(s.columns), multiples(s.vectorLanes, {1, 2, 3, 4, 6, 8}));
      if (s.schedule == "register_tiles")
        add(stage, "rows", text(s.rows),
            {"1", "2", "3", "4", "5", "6", "7", "8", "10", "12", "14", "16"});
      else  // pixels per tile; 0: chosen by the row's width
        add(stage, "rows", text(s.rows), {"0", "4", "5", "6", "7", "8", "10", "12"});
    } else if (s.schedule == "winograd") {
      add(stage, "vector_lanes", lanes, lanesAround(s.vectorLanes));
      add(stage, "rows", text(s.rows), {"2", "4", "6", "8", "10", "12", "16"});
    } else if (s.schedule == "integer_dot" || s.schedule == "integer_dot_at_output") {
      add(stage, "columns", text(s.columns), {"16", "32", "48", "64"});
      add(stage, "rows", text(s.rows), {"1", "2", "3", "4", "6", "8"});
    } else if (s.schedule == "root" && s.kind != "data") {
      add(stage, "vector_lanes", lanes, lanesAround(s.vectorLanes));
    } else if (s.kind == "data") {
      // A convolution's bordered input or x phases: copied whole, or read in place.
      if (s.schedule == "per_channel" || s.schedule == "rolling")
        add(stage, "schedule", s.schedule, {"per_channel", "rolling", "root"});
      else
        add(stage, "schedule", s.schedule, {"root", "inline"});
    }
    if (threads && s.schedule != "inline" && s.schedule != "with_contraction" &&
        s.kind != "weights")
      add(stage, "parallel", s.parallel ? "1" : "0", onOff);
  }
  return knobs;
}

} // namespace kiln
