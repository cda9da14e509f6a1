//===- Passes.td - kiln pass declarations -------------------*- tablegen -*-===//
//
// Every kiln pass is declared here; each lives in its own .cpp named after it.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_TRANSFORMS_PASSES_TD
#define KILN_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

//===----------------------------------------------------------------------===//
// Kernel formation
//===----------------------------------------------------------------------===//

def FormKernelsPass : Pass<"kiln-form-kernels", "mlir::func::FuncOp"> {
  let summary = "Groups ops into kiln.kernel regions, fusing elementwise chains";
  let description = [{
    Every compute op starts a kernel. An elementwise op (unary, binary, clip, cast...) joins
    the kernel of the operand whose shape equals its result, unless that would create a
    cycle between kernels; its other operands become kernel inputs. Values used outside
    their kernel become kernel results. Reshapes stay outside kernels: they are views.

    Before:
    ```mlir
    %c = kiln.conv %x, %w ...
    %r = kiln.relu %c ...
    ```
    After:
    ```mlir
    %r = kiln.kernel "k0_conv_relu" (%x, %w) ... {
      %c = kiln.conv ...
      %r = kiln.relu %c ...
      kiln.yield %r
    }
    ```
  }];
  let options = [
    Option<"maxDepth", "max-depth", "int64_t", /*default=*/"64",
           "Longest chain of elementwise ops fused into one kernel expression; a longer "
           "chain continues in a new kernel (a 1,000-op chain as one expression took "
           "minutes in Halide's recursive passes)">
  ];
  let dependentDialects = ["::kiln::KilnDialect"];
}

//===----------------------------------------------------------------------===//
// Graph optimization
//===----------------------------------------------------------------------===//

def FoldConvAffinePass : Pass<"kiln-fold-conv-affine", "mlir::func::FuncOp"> {
  let summary = "Folds per-channel scale and shift (BatchNorm) into convolution weights";
  let description = [{
    ONNX BatchNormalization imports as `mul` by a per-channel scale and `add` of a
    per-channel shift. When they follow a convolution with constant weights and nothing
    else reads the convolution, they fold into the weights and bias at compile time:
    W'[f] = W[f] * s[f], b'[f] = b[f] * s[f] + t[f].

    Before: `%c = kiln.conv %x, %w`, `%m = kiln.mul %c, %s`, `%y = kiln.add %m, %t`.
    After: `%y = kiln.conv %x, %w2, %b2`.
  }];
}

def SplitConvBordersPass : Pass<"kiln-split-conv-borders", "mlir::func::FuncOp"> {
  let summary = "Drops convolution taps that only read padding, at compile time";
  let description = [{
    For a padded convolution with constant float weights, each spatial axis splits into
    bands of output positions that read the same range of taps in bounds. When every axis
    is one band (a dilated 3x3 whose off-centre taps always land in the padding, as
    DeepLabV3's rate-24 and rate-36 ASPP convolutions on a 20x20 map), the convolution
    becomes one pad-free convolution with its weights cut to those taps (a 1x1). When
    padding is at least `min-padded-share` of the multiply-adds, there are at most
    `max-pieces` band combinations and they average at least `min-piece-work`
    multiply-adds, the output is computed piece by piece: each piece a
    pad-free convolution of the input slice it reads, the pieces concatenated. Either
    way no multiply-add reads padding and no zero-bordered copy of the input is made.
    A 3x3 with pad 1 on a map of useful size keeps its border (padding is a few percent).

    Before: `%y = kiln.conv %x, %w {pads = [36, 36, 36, 36], dilations = [36, 36]}`
    on a 20x20 map. After: `%y = kiln.conv %x, %w1 {pads = [0, 0, 0, 0]}` with `%w1` the
    centre taps.
  }];
  let options = [
    Option<"minPaddedShare", "min-padded-share", "double", "0.3",
           "split into pieces when at least this share of the multiply-adds reads padding">,
    Option<"maxPieces", "max-pieces", "int64_t", "25",
           "the most pieces a convolution is split into">,
    Option<"minPieceWork", "min-piece-work", "double", "1048576.0",
           "split into pieces only when they average at least this many multiply-adds">,
  ];
}

def FuseLayerNormPass : Pass<"kiln-fuse-layer-norm", "mlir::func::FuncOp"> {
  let summary = "Recognizes decomposed layer normalization as one kiln.layer_norm";
  let description = [{
    Matches (x - m) / sqrt(v + eps), or (x - m) * reciprocal(sqrt(v + eps)), where
    m = mean(x) and v = mean((x - m)^2) (a square written as pow by 2 or a product with
    itself) are keep-dims means over the same trailing axes and eps is a non-negative
    scalar constant, and replaces the division with `kiln.layer_norm %x {axis, epsilon}`.
    The means and the rest become dead unless something else reads them. Kernel formation
    then makes one kernel of the normalization and its scale and shift, instead of
    several passes over the tensor.
  }];
}

def SinkTransposesPass : Pass<"kiln-sink-transposes", "mlir::func::FuncOp"> {
  let summary = "Moves transposes below elementwise ops, merges them and drops no-ops";
  let description = [{
    Every transpose that remains is a kernel and a pass over memory. Applied to a fixed
    point: consecutive transposes compose into one (TransposeOp's folder; an identity then folds
    away); a transpose that only moves axes of extent 1 becomes a reshape (a view); an
    elementwise op whose operands are transposes by one permutation (each read only by
    that op, with the result's shape) or single elements becomes the transpose of the op
    on the untransposed operands, so transposes move down the chain towards one another.

    Before: `%a = kiln.transpose %x {perm = [0, 2, 1]}`, `%r = kiln.relu %a`,
    `%y = kiln.transpose %r {perm = [0, 2, 1]}`. After: `%y = kiln.relu %x`.
  }];
}

//===----------------------------------------------------------------------===//
// Quantization
//===----------------------------------------------------------------------===//

def QuantizeWeightsPass : Pass<"kiln-quantize-weights", "mlir::func::FuncOp"> {
  let summary = "Stores the constant weights of matmuls and convolutions quantized";
  let description = [{
    Each float32 constant weight of a `kiln.matmul` (rank-2 right operand) or `kiln.conv`,
    and each rank-2 float32 table a `kiln.gather` reads rows of (an embedding), becomes a
    packed constant read through `kiln.dequantize`, in one of GGML's block formats
    (bit-exact with ggml's reference quantizers) or int8 with per-row scales. Rows follow
    the reduction axis; a reduction length that is not a multiple of 32 is padded with zeros
    that the kernel never reads, and rows shorter than one block (depthwise filters) stay
    float. By default the first and last matmul or conv stay float;
    `keep` lists more (substrings of node names, or `matmul`/`conv` for a whole kind).
    Under q4_0, q4_1, q5_0 and q5_1, two kinds of layer are stored in q8_0 unless `uniform`:
    a layer whose output is an operand of an add of two computed tensors (it writes into a
    residual stream, where no activation damps its error before every later block reads
    it), and a layer of fewer than 8192 weights (little to save; such layers sit early).

    Before: `%y = kiln.matmul %x, %w` with `%w = kiln.constant dense_resource<fc.w>`.
    After: `%q = kiln.constant dense_resource<fc.w> : tensor<Nx(K/32*34)xui8>`,
    `%w = kiln.dequantize %q {format = "q8_0", ...}`, `%y = kiln.matmul %x, %w`.
  }];
  let options = [
    Option<"format", "format", "std::string", /*default=*/"\"q8_0\"",
           "q8_0, q4_0, q4_1, q5_0, q5_1 or int8">,
    Option<"keep", "keep", "std::string", /*default=*/"\"\"",
           "Comma-separated node-name substrings or op kinds (matmul, conv, gather) kept in float">,
    Option<"keepEnds", "keep-ends", "bool", /*default=*/"true",
           "Keep the first and last quantizable layer in float">,
    Option<"report", "report", "bool", /*default=*/"false",
           "Print which layers were quantized, with sizes, to stdout">,
    Option<"uniform", "uniform", "bool", /*default=*/"false",
           "Use the format for every quantized layer (by default, under 4- and 5-bit formats, "
           "residual writers and layers under 8192 weights take q8_0)">
  ];
  let dependentDialects = ["::kiln::KilnDialect"];
}

//===----------------------------------------------------------------------===//
// Layout
//===----------------------------------------------------------------------===//

def InterleaveQuantizedWeightsPass
    : Pass<"kiln-interleave-quantized-weights", "mlir::func::FuncOp"> {
  let summary = "Interleaves quantized matmul weights 16 columns at a time";
  let description = [{
    On x86 (AVX2 and later) and aarch64-dotprod a quantized matmul runs as integer dot
    products of the weight quants against activations quantized on the fly. AVX512-VNNI's
    VPDPBUSD multiplies 16 lanes of 4 unsigned bytes by one broadcast group of 4 signed
    bytes, so each 64-byte load should hold 4 consecutive quants of 16 different output
    columns (without VNNI the same sums take VPMADDWD pairs; ARM's SDOT takes the same
    layout). This pass rewrites a `kiln.dequantize` in a GGML block format whose users are
    all matmuls reading it as their right operand, or all convolutions with one group and
    enough output channels (`min-conv-channels` for 1x1 stride-1 windows,
    `min-window-conv-channels` for others) reading it as their weight, and whose row count (columns, output channels) is a multiple of
    16, into the kiln-specific `q8_0x16` ... `q5_1x16` layout (docs/formats.md): the
    same bytes rearranged at compile time (Q8_0 quants offset by 128), so the weights file
    stays the same size and nothing is repacked at run time.

    Before: `%q = kiln.constant : tensor<64x68xui8>`,
    `%w = kiln.dequantize %q {format = "q8_0", row_axis = 1, row_length = 64}`.
    After: `%q = kiln.constant {kiln.ggml_type = 1032} : tensor<4x2x544xui8>` (16 columns x 2
    blocks of 34 bytes per group),
    `%w = kiln.dequantize %q {format = "q8_0x16", row_axis = 1, row_length = 64}`.
  }];
  let options = [
    Option<"minConvChannels", "min-conv-channels", "int64_t", /*default=*/"64",
           "Interleave a pointwise convolution's weight only from this many output channels: "
           "quantizing the activations costs about as much per pixel as 64 channels of dot "
           "products save">,
    Option<"minWindowConvChannels", "min-window-conv-channels", "int64_t", /*default=*/"128",
           "The same for a convolution with a window or a stride, whose activation rows are "
           "whole windows (ResNet-50 3x3 layers with q8_0 weights, 1 thread, float-decoding "
           "against integer kernel: 64 channels 2.4 / 3.5 ms, 128 2.7 / 2.4 ms, 256 2.4 / "
           "1.5 ms, 512 3.1 / 1.7 ms)">
  ];
  let dependentDialects = ["::kiln::KilnDialect"];
}


def WinogradConvPass : Pass<"kiln-winograd-conv", "mlir::func::FuncOp"> {
  let summary = "Rewrites 3x3 stride-1 convolutions as Winograd F(m x m, 3 x 3)";
  let description = [{
    A one-group 3x3 convolution with stride and dilation 1, a constant float weight and at
    least `min-channels` input and output channels becomes `kiln.winograd_conv` on the
    weight transformed at compile time (G g G^T, stored [m+2, m+2, F/16, C, 16] so each
    GEMM reads 16-channel strips contiguously). Per output tile the
    channel contraction then takes (m+2)^2 multiply-adds instead of 9 m^2: 2.25x fewer for
    F(2x2), 4x fewer for F(4x4), for a weight (m+2)^2 / 9 times larger.

    The tile: the one with the lower estimate of multiply-adds over all tiles plus weight
    reads (WinogradConv.cpp, winogradCost): F(4x4) from 11x11 maps up (ResNet-50's 14x14
    and larger), F(2x2) on smaller ones, where 4x4 tiles compute mostly padding and the
    larger weight is read for few tiles. Errors against the
    direct convolution stay near float rounding for F(2x2) and within about 1e-5 relative
    for F(4x4) (tests/winograd).

    Before: `kiln.conv %x, %w, %b {strides = [1, 1], pads = [1, 1, 1, 1], ...}` with
    `%w : tensor<64x64x3x3xf32>`. After: `kiln.winograd_conv %x, %u, %b {pads = [1, 1, 1, 1],
    tile = 4}` with `%u : tensor<6x6x4x64x16xf32>`.
  }];
  let options = [
    Option<"minChannels", "min-channels", "int64_t", /*default=*/"32",
           "Rewrite convolutions with at least this many input and output channels">,
    Option<"tile", "tile", "int64_t", /*default=*/"0",
           "Output tile size m (2 or 4); 0 picks by output map size">,
    Option<"strip", "strip", "int64_t", /*default=*/"16",
           "Output channels per strip of the packed weight (the target's vector width)">
  ];
}

def PackMatmulWeightsPass : Pass<"kiln-pack-matmul-weights", "mlir::func::FuncOp"> {
  let summary = "Stores matmuls' constant float weights in strips of 16 columns";
  let description = [{
    A matmul's constant right operand [K, N] (N at least 32; the left operand has more
    than one row: batch-1 GEMVs read whole rows faster) is stored as [N'/16, K, 16], N'
    being N rounded up to a multiple of 32 (zero columns, so register tiles of 32 columns
    stay aligned to strips), and read through `kiln.from_strips {axis = 1}`: each strip of 16
    columns is contiguous, so a register tile of columns streams its K rows in order and
    stays in L1 across all the row tiles of the left operand (the schedule runs them
    inside each column strip). Row-major, the columns of a strip sat one K-row stride
    apart and every row tile read them from memory again.

    Before: `%w = kiln.constant : tensor<120x6624xf32>`, `kiln.matmul %x, %w`.
    After: `%p = kiln.constant : tensor<414x120x16xf32>`,
    `%w = kiln.from_strips %p {axis = 1, width = 16}`, `kiln.matmul %x, %w`.
    The strip width is an option the target's backend sets (16 by default).
  }];
  let options = [
    Option<"strip", "strip", "int64_t", /*default=*/"16",
           "Output channels per strip of the packed weight (the target's vector width)">
  ];
}

def PackConvWeightsPass : Pass<"kiln-pack-conv-weights", "mlir::func::FuncOp"> {
  let summary = "Pre-packs the weights of narrow convolutions output-channel innermost";
  let description = [{
    A convolution whose output rows are narrower than a vector (7x7 and 14x14 feature maps),
    or a window (not 1x1) on rows that whole vectors fit badly (a third of their lanes or more
    wasted: 17 and 35 wide, Inception-v3's 1x7, 7x1 and 3x3 layers: 0.90 -> 0.43 ms at
    17x17, 2 threads), is fastest vectorized across output channels, which needs the
    weight's output channels contiguous. A grouped convolution (not depthwise) qualifies when
    its groups are whole strips (RegNetX's groups of 16 at 7x7: 0.14 -> 0.06 ms): a vector
    of output channels then reads one input channel per step. Its constant weight [F, C, kh, kw] is rewritten at compile time into strips
    of 16 output channels, [F/16, C, kh, kw, 16], read through `kiln.from_strips`, so the
    schedule streams each strip row after row (a [C, kh, kw, F] layout put every row of a
    strip on a new page: ResNet-50's 7x7 2048 -> 512 layers took 2.1 ms instead of 1.05 at
    1 thread, AVX-512). Where F is not a multiple of 16 the weight is stored [C, kh, kw, F]
    and read through `kiln.transpose {perm = [3, 0, 1, 2]}`. Kernel formation clones the
    view into the conv's kernel, so nothing is rearranged at run time.

    Before: `%w = kiln.constant : tensor<512x2048x1x1xf32>`, `kiln.conv %x, %w`.
    After: `%p = kiln.constant : tensor<32x2048x1x1x16xf32>`,
    `%w = kiln.from_strips %p {width = 16}`, `kiln.conv %x, %w`.
  }];
  let options = [
    Option<"maxWidth", "max-width", "int64_t", /*default=*/"15",
           "Pack convolutions whose output width is at most this">,
    Option<"strip", "strip", "int64_t", /*default=*/"16",
           "Output channels per strip of the packed weight (the target's vector width)">
  ];
}

def FlattenPointwiseKernelsPass
    : Pass<"kiln-flatten-pointwise-kernels", "mlir::func::FuncOp"> {
  let summary = "Runs kernels of a pointwise convolution on one flat row of pixels";
  let description = [{
    A kernel made of one float 1x1 convolution (stride 1, no padding) and elementwise ops
    (its epilogue: bias, activation, residual add) computes the same values on an N x C x
    1 x (H * W) image: every [.., H, W] value of the kernel becomes [.., 1, H * W] (the same
    bytes), with `kiln.reshape` views outside the kernel. The schedule's register tiles
    then run along one row of H * W pixels: no tile straddles the end of a row (56- and
    112-pixel rows computed 12% of their pixels twice with shifted-in tiles of 32, 14-pixel
    rows 14% with tiles of 8 pixels across channels) and 28-pixel rows no longer fall back
    to tiles of 16 pixels. The weight may be a kernel input or a packed weight's view
    (`kiln.from_strips`, `kiln.transpose`); quantized weights keep their kernels. Kernels
    with row- or column-broadcast operands stay as they are.

    Before: `kiln.kernel (%x: tensor<1x64x28x28xf32>, %w)` { conv, relu }.
    After: `%f = kiln.reshape %x : tensor<1x64x1x784xf32>`, `kiln.kernel (%f, %w)` { conv,
    relu } on [1, F, 1, 784], `kiln.reshape` of its result back to [1, F, 28, 28].
  }];
  let options = [
    Option<"minWidth", "min-width", "int64_t", /*default=*/"1",
           "Flatten maps at least this wide">
  ];
}

def ConcatInPlacePass : Pass<"kiln-concat-in-place", "mlir::func::FuncOp"> {
  let summary = "Has a concatenation's producers write straight into their slices";
  let description = [{
    A kernel that only concatenates its inputs, along an axis with nothing but unit
    dimensions before it (so each input is one contiguous slice of the result), is replaced
    by a `kiln.concat` outside any kernel, marked `kiln.in_place`: a view that computes
    nothing. kiln-plan-memory then places each input's buffer at its slice of the result's,
    so the kernels that produce the inputs write the concatenation and no copy runs
    (SqueezeNet's fire modules, GoogLeNet's and Inception's branches). An input qualifies
    when it is a kernel's result, directly or through `kiln.reshape` views, and is in no
    other in-place concatenation; otherwise the kernel stays and copies.

    Before: `%c = kiln.kernel "k9_concat" (%a, %b) { kiln.concat %0, %1 {axis = 1} }` with
    `%a`, `%b` results of kernels. After: `%c = kiln.concat %a, %b {axis = 1, kiln.in_place}`.
  }];
}

//===----------------------------------------------------------------------===//
// Memory planning
//===----------------------------------------------------------------------===//

def PlanMemoryPass : Pass<"kiln-plan-memory", "mlir::func::FuncOp"> {
  let summary = "Assigns every intermediate tensor an offset in one arena";
  let description = [{
    Computes each buffer's live range over the kernel sequence (function arguments live
    from the start, returned values to the end, reshapes alias their input) and places
    buffers by decreasing size at the lowest offset that does not overlap a buffer alive
    at the same time. Writes `kiln.arena_offsets` on each kernel, `kiln.arg_offsets` and
    `kiln.result_offsets` on the function, and `kiln.arena_size` on the function, with
    `kiln.arena_lower_bound`, the most bytes alive at once (no plan can use less).
    Sizes are computed with checked arithmetic; a tensor or an arena over `max-bytes`
    (64 GiB by default) is an error naming the kernel.
  }];
  let options = [
    Option<"alignment", "alignment", "int64_t", /*default=*/"64",
           "Byte alignment of every buffer">,
    Option<"maxBytes", "max-bytes", "int64_t", /*default=*/"int64_t(64) << 30",
           "Largest arena allowed (an error names the tensor or says the plan is too big)">
  ];
}

#endif // KILN_TRANSFORMS_PASSES_TD
