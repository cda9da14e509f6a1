//===- KernelAlgorithm.h - kiln.kernel region -> Halide algorithm ---------===//
//
// The algorithm half of codegen: every op of a kernel region becomes a Halide Func over
// its result's index space (ONNX order reversed: Halide's first dimension is innermost).
// Ops that reduce or gather (conv, matmul, pool, reductions, softmax) are recorded as
// stages for the target's schedule to place; elementwise ops stay inline.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_TARGETS_COMMON_KERNELALGORITHM_H
#define KILN_TARGETS_COMMON_KERNELALGORITHM_H

#include "Halide.h"
#include "dialects/kiln/IR/KilnOps.h"
#include <string>
#include <vector>

namespace kiln {

/// Kernel classes pick the schedule template.
enum class StageClass { Elementwise, Conv, Depthwise, Matmul, Pool, Reduction, Softmax, Data,
                        Weights /* quantized weights decoded for a contraction */,
                        QuantizedMatmul /* integer dot products on interleaved weights */,
                        Winograd /* kiln.winograd_conv: transforms and per-point GEMMs */ };

/// The pieces of a matmul or 1x1 convolution on interleaved (q8_0x16 ... q5_1x16) weights
/// (KernelAlgorithm.cpp, integerContraction). `rows` stands for the result's other axes in
/// Halide order: a matmul's M then batch axes, a convolution's x, y and batch.
struct IntegerDot {
  Halide::Func activationScale;   // (block, rows): the block's absolute maximum / 127
  Halide::Func activationQuants;  // (k, rows): int8 activations
  Halide::Func activationSums;    // (block, rows): int32 sum of a block's quants
  Halide::Func blockDot;          // (lane, block, group, rows): int32 dot of one block
  Halide::RDom quants;            // blockDot's updates: (byte i of a 4-byte chunk, chunk)
  Halide::Func accumulator;       // (lane, group, rows): float, summed over blocks
  Halide::RDom blockScan;         // accumulator's update: the blocks of a row
  int columnDim = 0;              // the result's Halide dimension of the weight's rows
  int groups = 0;                 // output columns / 16
  int blocks = 0;                 // padded K / 32
};

/// The stages of a kiln.winograd_conv (KernelAlgorithm.cpp, winogradConv), channels
/// innermost throughout so that every transform reads and writes whole vectors. Tiles are
/// numbered t = tile row * tilesX + tile column; (a, b) is a point of the alpha x alpha
/// transformed tile.
struct WinogradConv {
  Halide::Func input;        // (c, x, y, n): the zero-bordered input, channels innermost
  Halide::Func columnPass;   // (c, b, row, t, n): B^T along each patch row
  Halide::Func transformed;  // (c, t, b, a, n): V = B^T d B
  Halide::Func product;      // (f, t, b, a, n): sum over c of V * U, one GEMM per (a, b)
  Halide::RDom channels;     // product's update
  Halide::Func products;     // (f, t, b, a, n): `product` stored, tile by register tile,
                             // f over the weight's padded channels (a multiple of 16)
  Halide::Func rowPass;      // (f, j, a, t, n): A^T along b
  Halide::Func tiles;        // (f, j, i, t, n): A^T M A, the m x m output tile
  int channelsIn = 0, channelsOut = 0, tileCount = 0, alpha = 0;
  int channelsPadded = 0;    // the weight's output channels: F rounded up to whole strips
};

/// The stage class's name in plans and messages ("conv", "matmul", ...).
inline const char *stageClassName(StageClass kind) {
  switch (kind) {
  case StageClass::Elementwise: return "elementwise";
  case StageClass::Conv: return "conv";
  case StageClass::Depthwise: return "depthwise";
  case StageClass::Matmul: return "matmul";
  case StageClass::Pool: return "pool";
  case StageClass::Reduction: return "reduction";
  case StageClass::Softmax: return "softmax";
  case StageClass::Data: return "data";
  case StageClass::Weights: return "weights";
  case StageClass::QuantizedMatmul: return "quantized_matmul";
  case StageClass::Winograd: return "winograd";
  }
  return "unknown";
}

/// What a Data stage is to the convolution that reads it (the plan places it).
enum class DataRole { Other, Border /* the zero-bordered input */, Phases /* split into x phases */ };

/// A convolution's input paths: its Data stages and what a plan needs to place them.
struct ConvInputPaths {
  int borderStage = -1;  // index in KernelAlgorithm::stages of the bordered input, or -1
  int phasesStage = -1;  // index of the x phases (reading the bordered input), or -1
  bool padded = false;   // the window reads padding
  bool strided = false;  // a stride above 1 on some axis
  int64_t inputWidth = 0;
};

/// A Func with the static shape (ONNX order) of the tensor it computes.
struct TensorFunc {
  Halide::Func func;
  std::vector<int64_t> shape;
  Halide::Type type;
  /// Halide's argument order: dimension 0 is the innermost (last ONNX) axis.
  std::vector<Halide::Var> vars;
};

struct KernelStage {
  TensorFunc tensor;
  StageClass kind;
  Halide::RDom reduction;  // undefined for pure stages
  /// Conv: the weight is packed output-channel innermost (kiln-pack-conv-weights), so the
  /// schedule may vectorize across output channels.
  bool channelsContiguous = false;
  /// Conv: a 1x1 window.
  bool pointwise = false;
  /// Conv: output channels per group of a grouped convolution (0: one group). A vector
  /// across output channels reads one input channel per step only within a group.
  int64_t filtersPerGroup = 0;
  /// Matmul: the right operand is stored in strips of columns (kiln.from_strips), so the
  /// schedule may run row tiles inside each column strip.
  bool weightsInStrips = false;
  /// Weights: the Halide dimension that runs along a packed row (vectorized when decoding).
  int rowDimension = -1;
  /// Data: a depthwise convolution's bordered input, which a plan may make per output
  /// channel (dimension 2 of the kernel's output) when the convolution is tiled at the output.
  bool perOutputChannel = false;
  /// Data: the stage's role for the convolution that reads it.
  DataRole role = DataRole::Other;
  /// Conv, Depthwise: the input paths a plan places.
  ConvInputPaths inputPaths;
  /// QuantizedMatmul: `tensor` reads `integerDot.accumulator` (lane = column % 16).
  IntegerDot integerDot;
  /// Winograd: `tensor` reads `winograd.tiles` (plus the bias).
  WinogradConv winograd;
};

struct KernelAlgorithm {
  std::vector<Halide::ImageParam> inputs;
  std::vector<KernelStage> stages;    // intermediates the schedule should materialize
  std::vector<TensorFunc> outputs;
};

/// How integer dot products multiply (matmuls on interleaved quantized weights).
enum class IntegerDotForm {
  /// Unsigned weight bytes times signed activations (x86 VPDPBUSD, or VPMADDWD pairs); the
  /// weights' offset (128, 8) comes off through the activation block sums.
  UnsignedWeights,
  /// Signed times signed (AArch64 SDOT): the weights are made signed as they are loaded.
  SignedWeights,
};

/// Builds the algorithm; throws std::runtime_error naming the op it cannot express.
/// `concatBySlices`: see TargetBackend::concatenatesBySlices.
KernelAlgorithm buildKernelAlgorithm(KernelOp kernel,
                                     IntegerDotForm dotForm = IntegerDotForm::UnsignedWeights,
                                     bool concatBySlices = false);

} // namespace kiln

#endif
