//===- KilnOps.td - kiln op definitions ---------------------*- tablegen -*-===//
//
// The canonical op set. Elementwise ops broadcast with NumPy rules; layout-sensitive ops
// (conv, pool, resize) use NCHW-style "batch, channel, spatial..." order as ONNX does.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_OPS_TD
#define KILN_OPS_TD

include "dialects/kiln/IR/KilnDialect.td"
include "mlir/IR/OpBase.td"
include "mlir/IR/BuiltinAttributes.td"
include "mlir/IR/RegionKindInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/Interfaces/ControlFlowInterfaces.td"

class Kiln_Op<string mnemonic, list<Trait> traits = []>
    : Op<Kiln_Dialect, mnemonic, traits>;

// Every value-producing op prints as `kiln.op %a, %b {attrs} : (types) -> type`.
class Kiln_ComputeOp<string mnemonic, list<Trait> traits = []>
    : Kiln_Op<mnemonic, !listconcat([Pure], traits)> {
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
}

//===----------------------------------------------------------------------===//
// Constants
//===----------------------------------------------------------------------===//

def Kiln_ConstantOp : Kiln_Op<"constant", [ConstantLike, Pure]> {
  let summary = "A constant tensor (weights live in dense_resource blobs)";
  let description = [{
    ```mlir
    %w = kiln.constant dense_resource<conv1.weight> : tensor<16x3x3x3xf32>
    %s = kiln.constant dense<[1, 2]> : tensor<2xi64>
    ```
  }];
  let arguments = (ins ElementsAttr:$value);
  let results = (outs AnyRankedTensor:$result);
  let hasCustomAssemblyFormat = 1;
  let hasFolder = 1;
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Elementwise
//===----------------------------------------------------------------------===//

class Kiln_UnaryOp<string mnemonic, string what>
    : Kiln_ComputeOp<mnemonic, [SameOperandsAndResultType]> {
  let summary = "Elementwise " # what;
  let arguments = (ins AnyRankedTensor:$input);
  let results = (outs AnyRankedTensor:$result);
  let hasFolder = 1;
}

def Kiln_NegOp : Kiln_UnaryOp<"neg", "negation">;
def Kiln_AbsOp : Kiln_UnaryOp<"abs", "absolute value">;
def Kiln_SqrtOp : Kiln_UnaryOp<"sqrt", "square root">;
def Kiln_ExpOp : Kiln_UnaryOp<"exp", "natural exponential">;
def Kiln_LogOp : Kiln_UnaryOp<"log", "natural logarithm">;
def Kiln_TanhOp : Kiln_UnaryOp<"tanh", "hyperbolic tangent">;
def Kiln_ErfOp : Kiln_UnaryOp<"erf", "error function">;
def Kiln_SigmoidOp : Kiln_UnaryOp<"sigmoid", "logistic sigmoid 1/(1+exp(-x))">;
def Kiln_ReluOp : Kiln_UnaryOp<"relu", "max(x, 0)">;
def Kiln_FloorOp : Kiln_UnaryOp<"floor", "floor">;
def Kiln_CeilOp : Kiln_UnaryOp<"ceil", "ceiling">;
def Kiln_ReciprocalOp : Kiln_UnaryOp<"reciprocal", "1/x">;
// Folds: models test shapes with Not (Silero VAD's `if state.dim() != 2`) and branch on it.
def Kiln_NotOp : Kiln_UnaryOp<"not", "logical negation of a bool tensor">;

// Elementwise math without folders (rarely applied to constants).
class Kiln_MathOp<string mnemonic, string what>
    : Kiln_ComputeOp<mnemonic, [SameOperandsAndResultType]> {
  let summary = "Elementwise " # what;
  let arguments = (ins AnyRankedTensor:$input);
  let results = (outs AnyRankedTensor:$result);
}

def Kiln_SinOp : Kiln_MathOp<"sin", "sine">;
def Kiln_CosOp : Kiln_MathOp<"cos", "cosine">;
def Kiln_TanOp : Kiln_MathOp<"tan", "tangent">;
def Kiln_AsinOp : Kiln_MathOp<"asin", "arcsine">;
def Kiln_AcosOp : Kiln_MathOp<"acos", "arccosine">;
def Kiln_AtanOp : Kiln_MathOp<"atan", "arctangent">;
def Kiln_SinhOp : Kiln_MathOp<"sinh", "hyperbolic sine">;
def Kiln_CoshOp : Kiln_MathOp<"cosh", "hyperbolic cosine">;
def Kiln_AsinhOp : Kiln_MathOp<"asinh", "inverse hyperbolic sine">;
def Kiln_AcoshOp : Kiln_MathOp<"acosh", "inverse hyperbolic cosine">;
def Kiln_AtanhOp : Kiln_MathOp<"atanh", "inverse hyperbolic tangent">;
def Kiln_SignOp : Kiln_MathOp<"sign", "sign (-1, 0, 1)">;
def Kiln_RoundOp : Kiln_MathOp<"round", "round half to even">;

def Kiln_ClassifyOp : Kiln_ComputeOp<"classify"> {
  let summary = "Elementwise float classification: nan, inf, pos_inf or neg_inf -> bool";
  let arguments = (ins AnyRankedTensor:$input, StrAttr:$kind);
  let results = (outs AnyRankedTensor:$result);
  let hasVerifier = 1;
}

def Kiln_LeakyReluOp : Kiln_ComputeOp<"leaky_relu", [SameOperandsAndResultType]> {
  let summary = "x < 0 ? alpha*x : x";
  let arguments = (ins AnyRankedTensor:$input, F64Attr:$alpha);
  let results = (outs AnyRankedTensor:$result);
}

def Kiln_ClipOp : Kiln_ComputeOp<"clip", [SameOperandsAndResultType]> {
  let summary = "min(max(x, min), max)";
  let arguments = (ins AnyRankedTensor:$input, F64Attr:$min, F64Attr:$max);
  let results = (outs AnyRankedTensor:$result);
  let hasVerifier = 1;
  let hasCanonicalizer = 1;
}

def Kiln_HardSigmoidOp : Kiln_ComputeOp<"hard_sigmoid", [SameOperandsAndResultType]> {
  let summary = "max(0, min(1, alpha*x + beta))";
  let arguments = (ins AnyRankedTensor:$input, F64Attr:$alpha, F64Attr:$beta);
  let results = (outs AnyRankedTensor:$result);
}

def Kiln_CastOp : Kiln_ComputeOp<"cast"> {
  let summary = "Element type conversion with ONNX Cast semantics";
  let arguments = (ins AnyRankedTensor:$input);
  let results = (outs AnyRankedTensor:$result);
  let hasVerifier = 1;
  let hasFolder = 1;
}

class Kiln_BinaryOp<string mnemonic, string what>
    : Kiln_ComputeOp<mnemonic> {
  let summary = "Elementwise " # what # " with NumPy broadcasting";
  let arguments = (ins AnyRankedTensor:$lhs, AnyRankedTensor:$rhs);
  let results = (outs AnyRankedTensor:$result);
  let hasVerifier = 1;
  let hasFolder = 1;
}

def Kiln_AddOp : Kiln_BinaryOp<"add", "addition"> { let hasCanonicalizer = 1; }
def Kiln_SubOp : Kiln_BinaryOp<"sub", "subtraction">;
def Kiln_MulOp : Kiln_BinaryOp<"mul", "multiplication"> { let hasCanonicalizer = 1; }
def Kiln_DivOp : Kiln_BinaryOp<"div", "division">;
def Kiln_PowOp : Kiln_BinaryOp<"pow", "power">;
def Kiln_MaxOp : Kiln_BinaryOp<"max", "maximum">;
def Kiln_MinOp : Kiln_BinaryOp<"min", "minimum">;
def Kiln_ModOp : Kiln_BinaryOp<"mod", "remainder with the divisor's sign (Python %)">;
def Kiln_FmodOp : Kiln_BinaryOp<"fmod", "remainder with the dividend's sign (C fmod)">;
def Kiln_AndOp : Kiln_BinaryOp<"and", "logical and">;
def Kiln_OrOp : Kiln_BinaryOp<"or", "logical or">;
def Kiln_XorOp : Kiln_BinaryOp<"xor", "logical exclusive or">;
def Kiln_ShiftLeftOp : Kiln_BinaryOp<"shift_left", "left shift of unsigned integers">;
def Kiln_ShiftRightOp : Kiln_BinaryOp<"shift_right", "logical right shift of unsigned integers">;

def Kiln_CompareOp : Kiln_ComputeOp<"compare"> {
  let summary = "Elementwise comparison (eq, lt, le, gt, ge) with broadcasting -> bool";
  let arguments = (ins AnyRankedTensor:$lhs, AnyRankedTensor:$rhs, StrAttr:$predicate);
  let results = (outs AnyRankedTensor:$result);
  let hasVerifier = 1;
  let hasFolder = 1;
}

def Kiln_SelectOp : Kiln_ComputeOp<"select"> {
  let summary = "cond ? lhs : rhs elementwise, all three broadcast (ONNX Where)";
  let arguments = (ins AnyRankedTensor:$condition, AnyRankedTensor:$lhs, AnyRankedTensor:$rhs);
  let results = (outs AnyRankedTensor:$result);
  let hasVerifier = 1;
  let hasFolder = 1;
}

//===----------------------------------------------------------------------===//
// Contractions and windows
//===----------------------------------------------------------------------===//

def Kiln_ConvOp : Kiln_ComputeOp<"conv"> {
  let summary = "Grouped N-d convolution, input [N, C, spatial...], weight [F, C/groups, k...]";
  let description = [{
    `pads` holds the begin paddings of every spatial axis followed by the end paddings,
    as ONNX does; auto_pad is resolved by the importer.
    ```mlir
    %y = kiln.conv %x, %w, %b {strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>,
           dilations = array<i64: 1, 1>, groups = 1 : i64}
         : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>, tensor<4xf32>) -> tensor<1x4x8x8xf32>
    ```
  }];
  let arguments = (ins AnyRankedTensor:$input, AnyRankedTensor:$weight,
                   Optional<AnyRankedTensor>:$bias,
                   DenseI64ArrayAttr:$strides, DenseI64ArrayAttr:$pads,
                   DenseI64ArrayAttr:$dilations, I64Attr:$groups);
  let results = (outs AnyRankedTensor:$result);
  let hasVerifier = 1;
}

def Kiln_WinogradConvOp : Kiln_ComputeOp<"winograd_conv"> {
  let summary = "3x3 stride-1 convolution on Winograd-transformed weights, F(m x m, 3 x 3)";
  let description = [{
    The convolution `kiln.conv` computes for a 3x3, stride-1, dilation-1, one-group window,
    evaluated tile by tile: each m x m output tile is A^T [(G g G^T) . (B^T d B)] A over the
    (m+2) x (m+2) input patch d (Lavin & Gray, "Fast Algorithms for Convolutional Neural
    Networks", 2016). kiln-winograd-conv transforms the weight at compile time and stores
    it in the order the per-point GEMMs read it, 16 output channels at a time: `weight` is
    [m+2, m+2, ceil(F/16), C, 16], element [a, b, f / 16, c, f % 16] =
    (G g[f, c] G^T)[a, b], zero for f >= F. `pads` are the conv's (begin paddings, then
    end paddings); `tile` is m, 2 or 4.
    ```mlir
    %y = kiln.winograd_conv %x, %u, %b {pads = array<i64: 1, 1, 1, 1>, tile = 4 : i64}
         : (tensor<1x64x56x56xf32>, tensor<6x6x4x64x16xf32>, tensor<64xf32>)
         -> tensor<1x64x56x56xf32>
    ```
  }];
  let arguments = (ins AnyRankedTensor:$input, AnyRankedTensor:$weight,
                   Optional<AnyRankedTensor>:$bias,
                   DenseI64ArrayAttr:$pads, I64Attr:$tile);
  let results = (outs AnyRankedTensor:$result);
  let hasVerifier = 1;
}

def Kiln_ConvTransposeOp : Kiln_ComputeOp<"conv_transpose"> {
  let summary = "Grouped N-d transposed convolution, weight [C, F/groups, k...]";
  let description = [{
    Output size per spatial axis: stride*(in-1) + dilation*(k-1) + 1 - pad_begin - pad_end
    + output_padding (the importer resolves output_shape into pads).
  }];
  let arguments = (ins AnyRankedTensor:$input, AnyRankedTensor:$weight,
                   Optional<AnyRankedTensor>:$bias,
                   DenseI64ArrayAttr:$strides, DenseI64ArrayAttr:$pads,
                   DenseI64ArrayAttr:$dilations, I64Attr:$groups);
  let results = (outs AnyRankedTensor:$result);
  let hasVerifier = 1;
}

def Kiln_MatmulOp : Kiln_ComputeOp<"matmul"> {
  let summary = "Batched matrix product [..., M, K] x [..., K, N], batch dims broadcast";
  let arguments = (ins AnyRankedTensor:$lhs, AnyRankedTensor:$rhs);
  let results = (outs AnyRankedTensor:$result);
  let hasVerifier = 1;
  let hasCanonicalizer = 1;
}

def Kiln_PoolOp : Kiln_ComputeOp<"pool"> {
  let summary = "Max or average pooling over the spatial axes of [N, C, spatial...]";
  let arguments = (ins AnyRankedTensor:$input, StrAttr:$kind,
                   DenseI64ArrayAttr:$kernel, DenseI64ArrayAttr:$strides,
                   DenseI64ArrayAttr:$pads, DenseI64ArrayAttr:$dilations,
                   BoolAttr:$count_include_pad);
  let results = (outs AnyRankedTensor:$result);
  let hasVerifier = 1;
}

def Kiln_ReduceOp : Kiln_ComputeOp<"reduce"> {
  let summary = "Reduction (sum, mean, max, min, prod) over axes; keepdims resolved by type";
  let description = [{
    `axes` are non-negative and sorted; the result keeps the reduced axes as size 1 when
    its rank equals the input's, and drops them otherwise.
  }];
  let arguments = (ins AnyRankedTensor:$input, StrAttr:$kind, DenseI64ArrayAttr:$axes);
  let results = (outs AnyRankedTensor:$result);
  let hasVerifier = 1;
}

def Kiln_ArgReduceOp : Kiln_ComputeOp<"arg_reduce"> {
  let summary = "Index (int64) of the max or min along one axis; the result keeps or drops it";
  let arguments = (ins AnyRankedTensor:$input, StrAttr:$kind, I64Attr:$axis,
                   BoolAttr:$select_last_index);
  let results = (outs AnyRankedTensor:$result);
  let hasVerifier = 1;
}

def Kiln_CumsumOp : Kiln_ComputeOp<"cumsum", [SameOperandsAndResultType]> {
  let summary = "Cumulative sum along one axis (optionally exclusive and/or reversed)";
  let arguments = (ins AnyRankedTensor:$input, I64Attr:$axis, BoolAttr:$exclusive,
                   BoolAttr:$reverse);
  let results = (outs AnyRankedTensor:$result);
}

def Kiln_EinsumOp : Kiln_ComputeOp<"einsum"> {
  let summary = "Einstein summation; `equation` is explicit (has ->) with no ellipsis";
  let arguments = (ins Variadic<AnyRankedTensor>:$inputs, StrAttr:$equation);
  let results = (outs AnyRankedTensor:$result);
}

def Kiln_SoftmaxOp : Kiln_ComputeOp<"softmax", [SameOperandsAndResultType]> {
  let summary = "Softmax along one axis (opset 13 semantics)";
  let arguments = (ins AnyRankedTensor:$input, I64Attr:$axis);
  let results = (outs AnyRankedTensor:$result);
  let hasVerifier = 1;
}

def Kiln_LayerNormOp : Kiln_ComputeOp<"layer_norm", [SameOperandsAndResultType]> {
  let summary = "(x - mean) / sqrt(variance + epsilon) over the axes from `axis` to the last";
  let description = [{
    ONNX LayerNormalization's normalization, without its scale and bias (those stay
    elementwise ops, which kernel formation fuses into the same kernel). Mean and
    variance (biased) are taken over axes `axis`..rank-1 for each index of the leading
    axes. Float element types only.
  }];
  let arguments = (ins AnyRankedTensor:$input, I64Attr:$axis, F64Attr:$epsilon);
  let results = (outs AnyRankedTensor:$result);
  let hasVerifier = 1;
}

def Kiln_ResizeOp : Kiln_ComputeOp<"resize"> {
  let summary = "Resize of every axis by the ratio of result to input extent";
  let description = [{
    `mode` is "nearest" or "linear"; `coordinate_mode` is one of ONNX's
    coordinate_transformation_mode values; `nearest_mode` applies to "nearest".
    `scales` holds the per-axis scale used for coordinate transforms (output/input when
    the model gave sizes).
  }];
  let arguments = (ins AnyRankedTensor:$input, StrAttr:$mode, StrAttr:$coordinate_mode,
                   StrAttr:$nearest_mode, DenseF64ArrayAttr:$scales);
  let results = (outs AnyRankedTensor:$result);
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Data movement
//===----------------------------------------------------------------------===//

def Kiln_ReshapeOp : Kiln_ComputeOp<"reshape"> {
  let summary = "Row-major reshape to the result type (a view: no data moves)";
  let arguments = (ins AnyRankedTensor:$input);
  let results = (outs AnyRankedTensor:$result);
  let hasVerifier = 1;
  let hasFolder = 1;
}

def Kiln_TransposeOp : Kiln_ComputeOp<"transpose"> {
  let summary = "Axis permutation: result axis i is input axis perm[i]";
  let arguments = (ins AnyRankedTensor:$input, DenseI64ArrayAttr:$perm);
  let results = (outs AnyRankedTensor:$result);
  let hasVerifier = 1;
  let hasFolder = 1;
}

def Kiln_FromStripsOp : Kiln_ComputeOp<"from_strips"> {
  let summary = "A weight stored in strips of output channels, read in its logical layout";
  let description = [{
    The result's axis `axis` (the output channels) is stored in strips of `width`: with
    f that axis's index and i... the others, result[.., f, ..] = input[f / width, i...,
    f % width]. `input` is [F / width, (the result's other dims), width], F / width rounded
    up, plus at most one strip of padding (zero channels past F, never read). So that a
    schedule vectorized across output channels reads each strip contiguously, one row
    after another, kiln-pack-conv-weights stores narrow convolutions' weights this way
    (axis 0 of [F, C, kh, kw], when F is a multiple of 16) and kiln-pack-matmul-weights
    matmuls' constant right operands (axis 1 of [K, N]); codegen reads the op as an index
    remapping of the stored constant.
    ```mlir
    %w = kiln.from_strips %p {width = 16 : i64}
         : (tensor<32x512x1x1x16xf32>) -> tensor<512x512x1x1xf32>
    %b = kiln.from_strips %q {axis = 1 : i64, width = 16 : i64}
         : (tensor<64x1024x16xf32>) -> tensor<1024x1024xf32>
    ```
  }];
  let arguments = (ins AnyRankedTensor:$input, I64Attr:$width,
                   DefaultValuedAttr<I64Attr, "0">:$axis);
  let results = (outs AnyRankedTensor:$result);
  let hasVerifier = 1;
}

def Kiln_ConcatOp : Kiln_ComputeOp<"concat"> {
  let summary = "Concatenation along one axis";
  let arguments = (ins Variadic<AnyRankedTensor>:$inputs, I64Attr:$axis);
  let results = (outs AnyRankedTensor:$result);
  let hasVerifier = 1;
  let hasFolder = 1;
}

def Kiln_SliceOp : Kiln_ComputeOp<"slice"> {
  let summary = "Strided slice: result[i] = input[starts + i*steps] per axis";
  let description = [{
    Every axis has a start and a (possibly negative) step; the result type gives the
    extents. The importer clamps ONNX's starts/ends.
  }];
  let arguments = (ins AnyRankedTensor:$input, DenseI64ArrayAttr:$starts,
                   DenseI64ArrayAttr:$steps);
  let results = (outs AnyRankedTensor:$result);
  let hasVerifier = 1;
  let hasFolder = 1;
}

def Kiln_PadOp : Kiln_ComputeOp<"pad"> {
  let summary = "Padding (constant, reflect or edge); pads = begins then ends";
  let arguments = (ins AnyRankedTensor:$input, StrAttr:$mode, DenseI64ArrayAttr:$pads,
                   F64Attr:$value);
  let results = (outs AnyRankedTensor:$result);
  let hasVerifier = 1;
}

def Kiln_GatherOp : Kiln_ComputeOp<"gather"> {
  let summary = "ONNX Gather along one axis (negative indices wrap)";
  let arguments = (ins AnyRankedTensor:$input, AnyRankedTensor:$indices, I64Attr:$axis);
  let results = (outs AnyRankedTensor:$result);
  let hasVerifier = 1;
  let hasFolder = 1;
}

def Kiln_GatherElementsOp : Kiln_ComputeOp<"gather_elements"> {
  let summary = "ONNX GatherElements: result[i] = input[i with axis replaced by indices[i]]";
  let arguments = (ins AnyRankedTensor:$input, AnyRankedTensor:$indices, I64Attr:$axis);
  let results = (outs AnyRankedTensor:$result);
}

def Kiln_GatherNdOp : Kiln_ComputeOp<"gather_nd"> {
  let summary = "ONNX GatherND with batch_dims";
  let arguments = (ins AnyRankedTensor:$input, AnyRankedTensor:$indices, I64Attr:$batch_dims);
  let results = (outs AnyRankedTensor:$result);
}

def Kiln_ScatterElementsOp : Kiln_ComputeOp<"scatter_elements"> {
  let summary = "ONNX ScatterElements (reduction none, add or mul)";
  let arguments = (ins AnyRankedTensor:$input, AnyRankedTensor:$indices,
                   AnyRankedTensor:$updates, I64Attr:$axis, StrAttr:$reduction);
  let results = (outs AnyRankedTensor:$result);
}

def Kiln_ScatterNdOp : Kiln_ComputeOp<"scatter_nd"> {
  let summary = "ONNX ScatterND (reduction none, add or mul)";
  let arguments = (ins AnyRankedTensor:$input, AnyRankedTensor:$indices,
                   AnyRankedTensor:$updates, StrAttr:$reduction);
  let results = (outs AnyRankedTensor:$result);
}

def Kiln_DequantizeOp : Kiln_ComputeOp<"dequantize"> {
  let summary = "Weights stored quantized (GGML blocks, or int8 with per-row scales), read as float";
  let description = [{
    `packed` holds one row per index of the result's `row_axis`; a row is the other axes
    flattened row-major (the reduction axis of a matmul weight [K, N] is K, so rows are the
    N columns; a conv weight [F, C, kh, kw] has F rows of C*kh*kw). Formats: q8_0, q4_0,
    q4_1, q5_0, q5_1 (GGML's blocks of 32, `row_length` padded to a multiple of 32) and int8
    (one signed byte per value and a float scale per row in `scales`), plus kiln's
    interleaved twins q8_0x16, q4_0x16, q4_1x16, q5_0x16 and q5_1x16 (16 rows per group,
    docs/formats.md) that integer dot-product kernels read. Codegen decodes the blocks
    where the consumer reads them: no float copy of the weights exists at run time.
    ```mlir
    %w = kiln.dequantize %packed {format = "q8_0", row_axis = 1 : i64, row_length = 64 : i64}
         : (tensor<16x68xui8>) -> tensor<64x16xf32>
    ```
  }];
  let arguments = (ins AnyRankedTensor:$packed, Optional<AnyRankedTensor>:$scales,
                   StrAttr:$format, I64Attr:$row_axis, I64Attr:$row_length);
  let results = (outs AnyRankedTensor:$result);
  let hasVerifier = 1;
}

def Kiln_ExpandOp : Kiln_ComputeOp<"expand"> {
  let summary = "Broadcast to the result shape (NumPy rules)";
  let arguments = (ins AnyRankedTensor:$input);
  let results = (outs AnyRankedTensor:$result);
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Kernels
//===----------------------------------------------------------------------===//

def Kiln_KernelOp : Kiln_Op<"kernel", [IsolatedFromAbove, SingleBlock]> {
  let summary = "A fused region that becomes one generated kernel";
  let description = [{
    Block arguments stand for the operands; the yielded values are the results. Kernel
    formation creates these; codegen turns each into one Halide pipeline.
    ```mlir
    %r = kiln.kernel "k0_conv_relu" (%x, %w) : (tensor<..>, tensor<..>) -> tensor<..> {
    ^bb0(%a: tensor<..>, %b: tensor<..>):
      %c = kiln.conv %a, %b {...} : ...
      %d = kiln.relu %c : ...
      kiln.yield %d : tensor<..>
    }
    ```
  }];
  let arguments = (ins StrAttr:$sym_name, Variadic<AnyRankedTensor>:$inputs);
  let results = (outs Variadic<AnyRankedTensor>:$results);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = [{
    $sym_name ` ` `(` $inputs `)` attr-dict `:` functional-type($inputs, results) $body
  }];
  let hasVerifier = 1;
  let skipDefaultBuilders = 1;
  let builders = [
    OpBuilder<(ins "::llvm::StringRef":$name, "::mlir::TypeRange":$resultTypes,
                   "::mlir::ValueRange":$inputs)>
  ];
}

//===----------------------------------------------------------------------===//
// Outputs whose length depends on the data (run on the host: runtime/src/host_ops.c)
//===----------------------------------------------------------------------===//

// Each writes its output dense in the run's shape at the start of a buffer planned for the
// bound, and the run's length as a tensor<i64>. They stay outside kernels.
class Kiln_HostOp<string mnemonic, list<Trait> traits = []>
    : Kiln_Op<mnemonic, !listconcat([Pure], traits)> {
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
}

def Kiln_NonZeroOp : Kiln_HostOp<"nonzero"> {
  let summary = "Indices of the non-zero elements: int64 [rank, count] of bound [rank, numel]";
  let arguments = (ins AnyRankedTensor:$input);
  let results = (outs AnyRankedTensor:$indices, AnyRankedTensor:$count);
}

def Kiln_NonMaxSuppressionOp : Kiln_HostOp<"non_max_suppression"> {
  let summary = "ONNX NonMaxSuppression: int64 [count, 3] rows (batch, class, box)";
  let description = [{
    `selected` is planned for `bound` rows (batches x classes x the most boxes a class can
    keep); `workspace` (int64, one per box) is the candidates' order while it runs.
    Absent ONNX inputs arrive as constants (0, 0.0) and `has_score_threshold` false.
  }];
  let arguments = (ins AnyRankedTensor:$boxes, AnyRankedTensor:$scores,
                   AnyRankedTensor:$max_per_class, AnyRankedTensor:$iou_threshold,
                   AnyRankedTensor:$score_threshold, BoolAttr:$has_score_threshold,
                   BoolAttr:$center_point_box);
  let results = (outs AnyRankedTensor:$selected, AnyRankedTensor:$count,
                 AnyRankedTensor:$workspace);
}

def Kiln_UniqueOp : Kiln_HostOp<"unique"> {
  let summary = "ONNX Unique: distinct slices along `axis` (or elements, flattened)";
  let description = [{
    `unique` has the input's shape (flattened: [numel]) as its bound, the distinct count
    along the axis varying; `indices` and `counts` are planned for one entry per slice,
    `inverse` has one entry per slice. `workspace` holds 4 int64 per slice.
  }];
  let arguments = (ins AnyRankedTensor:$input, BoolAttr:$sorted, I64Attr:$axis,
                   BoolAttr:$flatten);
  let results = (outs AnyRankedTensor:$unique, AnyRankedTensor:$indices,
                 AnyRankedTensor:$inverse, AnyRankedTensor:$counts, AnyRankedTensor:$count,
                 AnyRankedTensor:$workspace);
}

def Kiln_DetOp : Kiln_HostOp<"det"> {
  let summary = "ONNX Det: determinants of float32 [..., n, n] matrices";
  let arguments = (ins AnyRankedTensor:$input);
  let results = (outs AnyRankedTensor:$result, AnyRankedTensor:$workspace);
}

def Kiln_MaxPoolIndicesOp : Kiln_HostOp<"max_pool_indices"> {
  let summary = "ONNX MaxPool's Indices output (2-D windows): where each maximum is";
  let arguments = (ins AnyRankedTensor:$input, DenseI64ArrayAttr:$kernel,
                   DenseI64ArrayAttr:$strides, DenseI64ArrayAttr:$pads,
                   DenseI64ArrayAttr:$dilations, BoolAttr:$column_major);
  let results = (outs AnyRankedTensor:$indices);
}

def Kiln_TfIdfOp : Kiln_HostOp<"tfidf"> {
  let summary = "ONNX TfIdfVectorizer on integer tokens (kiln_host_tfidf's config)";
  let arguments = (ins AnyRankedTensor:$input, DenseI64ArrayAttr:$config,
                   DenseF64ArrayAttr:$weights);
  let results = (outs AnyRankedTensor:$result);
}

def Kiln_RoiAlignOp : Kiln_HostOp<"roi_align"> {
  let summary = "ONNX RoiAlign (avg or max; half_pixel or output_half_pixel)";
  let arguments = (ins AnyRankedTensor:$input, AnyRankedTensor:$rois,
                   AnyRankedTensor:$batch_indices, I64Attr:$sampling_ratio, BoolAttr:$max_mode,
                   BoolAttr:$half_pixel, F64Attr:$spatial_scale);
  let results = (outs AnyRankedTensor:$result);
}

def Kiln_WithExtentOp : Kiln_Op<"with_extent", [Pure]> {
  let summary = "A view of `input` whose length along `axis` is `extent` at run time";
  let description = [{
    Marks a host op's output for the program's outputs table (has_extent): model outputs
    only, so far.
  }];
  let arguments = (ins AnyRankedTensor:$input, AnyRankedTensor:$extent, I64Attr:$axis);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Kiln_IfOp : Kiln_Op<"if", [RecursiveMemoryEffects, NoRegionArguments]> {
  let summary = "Runs one of two regions, chosen at run time by a one-element bool tensor";
  let description = [{
    ONNX If whose condition is computed by the model. Both regions hold ops (later
    kernels) and yield values of the result types; the glue tests the condition between
    kernel calls and runs one region's kernels. Each yielded value is written straight into
    the result's buffer (kiln-plan-memory), so either branch leaves its results in one place.
    A constant condition folds to the taken region.
    ```mlir
    %r = kiln.if %c : tensor<i1> -> tensor<4xf32> {
      %a = kiln.relu %x : (tensor<4xf32>) -> tensor<4xf32>
      kiln.yield %a : tensor<4xf32>
    } else {
      %b = kiln.neg %x : (tensor<4xf32>) -> tensor<4xf32>
      kiln.yield %b : tensor<4xf32>
    }
    ```
  }];
  let arguments = (ins AnyRankedTensor:$condition);
  let results = (outs Variadic<AnyRankedTensor>:$results);
  let regions = (region SizedRegion<1>:$then_region, SizedRegion<1>:$else_region);
  let assemblyFormat = [{
    $condition `:` type($condition) (`->` type($results)^)? attr-dict-with-keyword
    $then_region `else` $else_region
  }];
  let hasVerifier = 1;
  let hasCanonicalizeMethod = 1;
  let extraClassDeclaration = [{
    ::mlir::Block &thenBlock() { return getThenRegion().front(); }
    ::mlir::Block &elseBlock() { return getElseRegion().front(); }
  }];
}

def Kiln_LoopOp : Kiln_Op<"loop", [RecursiveMemoryEffects]> {
  let summary = "ONNX Loop run by the glue: the body compiled once, iterated at run time";
  let description = [{
    Runs the body while `iteration < max_trip_count` and the condition holds, at most
    `max_iterations` times (past that the run fails: every run ends). The body's block
    arguments are the iteration number, the condition and the loop-carried values; it
    yields the next condition and the next carried values. The carried values, the
    condition and the iteration number live in buffers of their own for the whole loop
    (kiln-plan-memory); the results are the carried values after the last iteration.
    ```mlir
    %r = kiln.loop %m, %c, %x {max_iterations = 1000 : i64}
        : (tensor<i64>, tensor<i1>, tensor<4xf32>) -> tensor<4xf32> {
    ^bb0(%i: tensor<i64>, %cond: tensor<i1>, %s: tensor<4xf32>):
      %n = kiln.exp %s : (tensor<4xf32>) -> tensor<4xf32>
      kiln.yield %cond, %n : tensor<i1>, tensor<4xf32>
    }
    ```
  }];
  let arguments = (ins AnyRankedTensor:$max_trip_count, AnyRankedTensor:$condition,
                   Variadic<AnyRankedTensor>:$inits, I64Attr:$max_iterations);
  let results = (outs Variadic<AnyRankedTensor>:$results);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = [{
    $max_trip_count `,` $condition (`,` $inits^)? attr-dict `:` functional-type(operands, results)
    $body
  }];
  let hasVerifier = 1;
}

def Kiln_YieldOp : Kiln_Op<"yield", [Pure, Terminator,
                                     ParentOneOf<["KernelOp", "IfOp", "LoopOp"]>]> {
  let summary = "Returns the values of a kernel region, an if's branch or a loop's body";
  let arguments = (ins Variadic<AnyRankedTensor>:$values);
  let assemblyFormat = "($values^ `:` type($values))? attr-dict";
}

#endif // KILN_OPS_TD
