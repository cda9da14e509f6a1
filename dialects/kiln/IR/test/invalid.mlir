// RUN: kiln-opt --split-input-file --verify-diagnostics %s

// Binary operands must broadcast.
func.func @bad_broadcast(%a: tensor<2x3xf32>, %b: tensor<4xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{operand shapes [2,3] and [4] do not broadcast}}
  %r = kiln.add %a, %b : (tensor<2x3xf32>, tensor<4xf32>) -> tensor<2x3xf32>
  return %r : tensor<2x3xf32>
}

// -----

// The result shape of a conv follows from its window.
func.func @bad_conv(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>) -> tensor<1x4x8x8xf32> {
  // expected-error @+1 {{result shape [1,4,8,8] differs from the expected [1,4,6,6]}}
  %c = kiln.conv %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<1x4x8x8xf32>
  return %c : tensor<1x4x8x8xf32>
}

// -----

// Groups must divide the channels.
func.func @bad_groups(%x: tensor<1x3x8x8xf32>, %w: tensor<4x1x3x3xf32>) -> tensor<1x4x6x6xf32> {
  // expected-error @+1 {{channels 3 do not match weight [4,1,3,3] with 2 groups}}
  %c = kiln.conv %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 2 : i64} : (tensor<1x3x8x8xf32>, tensor<4x1x3x3xf32>) -> tensor<1x4x6x6xf32>
  return %c : tensor<1x4x6x6xf32>
}

// -----

func.func @bad_reshape(%x: tensor<2x3xf32>) -> tensor<7xf32> {
  // expected-error @+1 {{cannot reshape [2,3] to [7]}}
  %r = kiln.reshape %x : (tensor<2x3xf32>) -> tensor<7xf32>
  return %r : tensor<7xf32>
}

// -----

func.func @bad_perm(%x: tensor<2x3xf32>) -> tensor<3x2xf32> {
  // expected-error @+1 {{perm is not a permutation}}
  %r = kiln.transpose %x {perm = array<i64: 0, 0>} : (tensor<2x3xf32>) -> tensor<3x2xf32>
  return %r : tensor<3x2xf32>
}

// -----

func.func @bad_clip(%x: tensor<2xf32>) -> tensor<2xf32> {
  // expected-error @+1 {{min 6.000000e+00 exceeds max 0.000000e+00}}
  %r = kiln.clip %x {min = 6.0 : f64, max = 0.0 : f64} : (tensor<2xf32>) -> tensor<2xf32>
  return %r : tensor<2xf32>
}

// -----

func.func @bad_slice(%x: tensor<4xf32>) -> tensor<3xf32> {
  // expected-error @+1 {{axis 0 reads outside the input}}
  %r = kiln.slice %x {starts = array<i64: 2>, steps = array<i64: 1>} : (tensor<4xf32>) -> tensor<3xf32>
  return %r : tensor<3xf32>
}

// -----

func.func @bad_pool_kind(%x: tensor<1x1x4x4xf32>) -> tensor<1x1x2x2xf32> {
  // expected-error @+1 {{kind must be "max" or "avg", got "median"}}
  %p = kiln.pool %x {kind = "median", kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, count_include_pad = false} : (tensor<1x1x4x4xf32>) -> tensor<1x1x2x2xf32>
  return %p : tensor<1x1x2x2xf32>
}

// -----

func.func @bad_kernel(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{yields types that differ from its results}}
  %r = kiln.kernel "k" (%x) : (tensor<4xf32>) -> tensor<4xf32> {
  ^bb0(%a: tensor<4xf32>):
    %s = kiln.reshape %a : (tensor<4xf32>) -> tensor<2x2xf32>
    kiln.yield %s : tensor<2x2xf32>
  }
  return %r : tensor<4xf32>
}

// -----

func.func @bad_dequantize(%p: tensor<4x30xui8>) -> tensor<32x4xf32> {
  // expected-error @+1 {{packed weights must have shape [4,34]}}
  %w = kiln.dequantize %p {format = "q8_0", row_axis = 1 : i64, row_length = 32 : i64} : (tensor<4x30xui8>) -> tensor<32x4xf32>
  return %w : tensor<32x4xf32>
}

// -----

func.func @bad_dequantize_format(%p: tensor<4x34xui8>) -> tensor<32x4xf32> {
  // expected-error @+1 {{unknown format "q3_k"}}
  %w = kiln.dequantize %p {format = "q3_k", row_axis = 1 : i64, row_length = 32 : i64} : (tensor<4x34xui8>) -> tensor<32x4xf32>
  return %w : tensor<32x4xf32>
}

// -----

// Interleaved formats group 16 rows.
func.func @bad_interleaved_rows(%p: tensor<1x1x544xui8>) -> tensor<32x8xf32> {
  // expected-error @+1 {{format q8_0x16 needs a multiple of 16 rows, got 8}}
  %w = kiln.dequantize %p {format = "q8_0x16", row_axis = 1 : i64, row_length = 32 : i64} : (tensor<1x1x544xui8>) -> tensor<32x8xf32>
  return %w : tensor<32x8xf32>
}

// -----

// ... stored as [groups, blocks, 16 * block bytes].
func.func @bad_interleaved_shape(%p: tensor<16x34xui8>) -> tensor<32x16xf32> {
  // expected-error @+1 {{packed weights must have shape [1,1,544]}}
  %w = kiln.dequantize %p {format = "q8_0x16", row_axis = 1 : i64, row_length = 32 : i64} : (tensor<16x34xui8>) -> tensor<32x16xf32>
  return %w : tensor<32x16xf32>
}

// -----

// A Winograd tile is 2x2 or 4x4 outputs ...
func.func @bad_winograd_tile(%x: tensor<1x32x8x8xf32>, %u: tensor<5x5x2x32x16xf32>) -> tensor<1x32x8x8xf32> {
  // expected-error @+1 {{tile must be 2 or 4, got 3}}
  %y = kiln.winograd_conv %x, %u {pads = array<i64: 1, 1, 1, 1>, tile = 3 : i64} : (tensor<1x32x8x8xf32>, tensor<5x5x2x32x16xf32>) -> tensor<1x32x8x8xf32>
  return %y : tensor<1x32x8x8xf32>
}

// -----

// ... and its weight holds the output channels in strips (of the last dimension's width).
func.func @bad_winograd_weight(%x: tensor<1x32x8x8xf32>, %u: tensor<6x6x32x32xf32>) -> tensor<1x32x8x8xf32> {
  // expected-error @+1 {{expects input [N, C, H, W], result [N, F, H', W'] and weight [6, 6, ceil(F / S), C, S] for a strip of S channels, got [1,32,8,8], [1,32,8,8] and [6,6,32,32]}}
  %y = kiln.winograd_conv %x, %u {pads = array<i64: 1, 1, 1, 1>, tile = 4 : i64} : (tensor<1x32x8x8xf32>, tensor<6x6x32x32xf32>) -> tensor<1x32x8x8xf32>
  return %y : tensor<1x32x8x8xf32>
}

// -----

// The result keeps the input's spatial size less the window's, plus the padding.
func.func @bad_winograd_result(%x: tensor<1x32x8x8xf32>, %u: tensor<6x6x2x32x16xf32>) -> tensor<1x32x8x8xf32> {
  // expected-error @+1 {{result shape [1,32,8,8] differs from the expected [1,32,6,6]}}
  %y = kiln.winograd_conv %x, %u {pads = array<i64: 0, 0, 0, 0>, tile = 4 : i64} : (tensor<1x32x8x8xf32>, tensor<6x6x2x32x16xf32>) -> tensor<1x32x8x8xf32>
  return %y : tensor<1x32x8x8xf32>
}

// -----

// A strip view's input is [F / width rounded up, ..., width], at most one strip of padding.
func.func @bad_strips(%p: tensor<3x8x16xf32>) -> tensor<16x8xf32> {
  // expected-error @+1 {{expects input [F / width rounded up, at most one strip of padding, (other dims), width] for the result's axis 0 of F, got [3,8,16] for [16,8] with width 16}}
  %w = kiln.from_strips %p {width = 16 : i64} : (tensor<3x8x16xf32>) -> tensor<16x8xf32>
  return %w : tensor<16x8xf32>
}

// -----

// A strip view's result has the channel axis.
func.func @bad_strips_rank(%p: tensor<16xf32>) -> tensor<f32> {
  // expected-error @+1 {{axis 0 is not an axis of the result []}}
  %w = kiln.from_strips %p {width = 16 : i64} : (tensor<16xf32>) -> tensor<f32>
  return %w : tensor<f32>
}

// -----

// Layer normalization's axis is an axis of its input.
func.func @bad_layer_norm_axis(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{axis 2 out of range}}
  %y = kiln.layer_norm %x {axis = 2 : i64, epsilon = 1.0e-5 : f64} : (tensor<4x8xf32>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

// Layer normalization is for float tensors.
func.func @bad_layer_norm_type(%x: tensor<4x8xi32>) -> tensor<4x8xi32> {
  // expected-error @+1 {{needs a float element type}}
  %y = kiln.layer_norm %x {axis = 1 : i64, epsilon = 1.0e-5 : f64} : (tensor<4x8xi32>) -> tensor<4x8xi32>
  return %y : tensor<4x8xi32>
}

// -----

// An if's condition is one bool.
func.func @if_condition_not_one_bool(%c: tensor<2xi1>, %x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{condition must be one bool}}
  %r = kiln.if %c : tensor<2xi1> -> tensor<4xf32> {
    kiln.yield %x : tensor<4xf32>
  } else {
    kiln.yield %x : tensor<4xf32>
  }
  return %r : tensor<4xf32>
}

// -----

// Both branches yield the if's result types.
func.func @if_branch_types(%c: tensor<i1>, %x: tensor<4xf32>, %y: tensor<2xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{else branch yields types that differ from the results}}
  %r = kiln.if %c : tensor<i1> -> tensor<4xf32> {
    kiln.yield %x : tensor<4xf32>
  } else {
    kiln.yield %y : tensor<2xf32>
  }
  return %r : tensor<4xf32>
}

// -----

// A loop's body yields the condition and one value per carried value.
func.func @loop_yield(%m: tensor<i64>, %c: tensor<i1>, %x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{body must yield the condition (bool) and the carried values}}
  %r = kiln.loop %m, %c, %x {max_iterations = 10 : i64} : (tensor<i64>, tensor<i1>, tensor<4xf32>) -> tensor<4xf32> {
  ^bb0(%i: tensor<i64>, %cond: tensor<i1>, %s: tensor<4xf32>):
    kiln.yield %s : tensor<4xf32>
  }
  return %r : tensor<4xf32>
}

// -----

// The trip count is one int64.
func.func @loop_trip_count(%m: tensor<2xi64>, %c: tensor<i1>, %x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{max_trip_count must be one int64}}
  %r = kiln.loop %m, %c, %x {max_iterations = 10 : i64} : (tensor<2xi64>, tensor<i1>, tensor<4xf32>) -> tensor<4xf32> {
  ^bb0(%i: tensor<i64>, %cond: tensor<i1>, %s: tensor<4xf32>):
    kiln.yield %cond, %s : tensor<i1>, tensor<4xf32>
  }
  return %r : tensor<4xf32>
}
