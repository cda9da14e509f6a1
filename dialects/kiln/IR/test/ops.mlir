// RUN: kiln-opt --split-input-file %s | kiln-opt --split-input-file | FileCheck %s

// Round trip of the compute ops: printing then parsing gives the same IR.
// CHECK-LABEL: func @conv_chain
func.func @conv_chain(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>, %b: tensor<4xf32>) -> tensor<1x4x8x8xf32> {
  // CHECK: kiln.conv %{{.*}}, %{{.*}}, %{{.*}} {dilations = array<i64: 1, 1>, groups = 1 : i64, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 1, 1>}
  %c = kiln.conv %x, %w, %b {strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>, tensor<4xf32>) -> tensor<1x4x8x8xf32>
  // CHECK: kiln.hard_sigmoid
  %h = kiln.hard_sigmoid %c {alpha = 0.2 : f64, beta = 0.5 : f64} : (tensor<1x4x8x8xf32>) -> tensor<1x4x8x8xf32>
  // CHECK: kiln.mul
  %m = kiln.mul %c, %h : (tensor<1x4x8x8xf32>, tensor<1x4x8x8xf32>) -> tensor<1x4x8x8xf32>
  return %m : tensor<1x4x8x8xf32>
}

// -----

// Weights are dense_resource blobs; small constants stay dense.
// CHECK-LABEL: func @constants
func.func @constants() -> (tensor<2xi64>, tensor<4xf32>) {
  // CHECK: kiln.constant dense<[1, 2]> : tensor<2xi64>
  %s = kiln.constant dense<[1, 2]> : tensor<2xi64>
  // CHECK: kiln.constant dense_resource<blob> : tensor<4xf32>
  %w = kiln.constant dense_resource<blob> : tensor<4xf32>
  return %s, %w : tensor<2xi64>, tensor<4xf32>
}
{-#
  dialect_resources: {
    builtin: {
      blob: "0x040000000000803F0000004000004040000080C0"
    }
  }
#-}

// -----

// A kernel region: block arguments stand for the inputs.
// CHECK-LABEL: func @kernel
func.func @kernel(%x: tensor<4xf32>) -> tensor<4xf32> {
  // CHECK: kiln.kernel "k0_relu" (%{{.*}}) : (tensor<4xf32>) -> tensor<4xf32> {
  // CHECK: ^bb0(%[[A:.*]]: tensor<4xf32>):
  // CHECK:   %[[R:.*]] = kiln.relu %[[A]]
  // CHECK:   kiln.yield %[[R]] : tensor<4xf32>
  %r = kiln.kernel "k0_relu" (%x) : (tensor<4xf32>) -> tensor<4xf32> {
  ^bb0(%a: tensor<4xf32>):
    %y = kiln.relu %a : (tensor<4xf32>) -> tensor<4xf32>
    kiln.yield %y : tensor<4xf32>
  }
  return %r : tensor<4xf32>
}

// -----

// Data movement and windows.
// CHECK-LABEL: func @movement
func.func @movement(%x: tensor<1x4x6x6xf32>) -> (tensor<1x4x3x3xf32>, tensor<1x4x1x1xf32>, tensor<1x6x6x4xf32>, tensor<1x8x6x6xf32>, tensor<1x4x2x6xf32>, tensor<1x4x12x12xf32>) {
  // CHECK: kiln.pool
  %p = kiln.pool %x {kind = "max", kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, count_include_pad = false} : (tensor<1x4x6x6xf32>) -> tensor<1x4x3x3xf32>
  // CHECK: kiln.reduce
  %r = kiln.reduce %x {kind = "mean", axes = array<i64: 2, 3>} : (tensor<1x4x6x6xf32>) -> tensor<1x4x1x1xf32>
  // CHECK: kiln.transpose
  %t = kiln.transpose %x {perm = array<i64: 0, 2, 3, 1>} : (tensor<1x4x6x6xf32>) -> tensor<1x6x6x4xf32>
  // CHECK: kiln.concat
  %c = kiln.concat %x, %x {axis = 1 : i64} : (tensor<1x4x6x6xf32>, tensor<1x4x6x6xf32>) -> tensor<1x8x6x6xf32>
  // CHECK: kiln.slice
  %s = kiln.slice %x {starts = array<i64: 0, 0, 1, 0>, steps = array<i64: 1, 1, 2, 1>} : (tensor<1x4x6x6xf32>) -> tensor<1x4x2x6xf32>
  // CHECK: kiln.resize
  %z = kiln.resize %x {mode = "nearest", coordinate_mode = "asymmetric", nearest_mode = "floor", scales = array<f64: 1.0, 1.0, 2.0, 2.0>} : (tensor<1x4x6x6xf32>) -> tensor<1x4x12x12xf32>
  return %p, %r, %t, %c, %s, %z : tensor<1x4x3x3xf32>, tensor<1x4x1x1xf32>, tensor<1x6x6x4xf32>, tensor<1x8x6x6xf32>, tensor<1x4x2x6xf32>, tensor<1x4x12x12xf32>
}

// -----

// A run-time If: the condition is one bool; both branches yield the result types.
// CHECK-LABEL: func @run_time_if
// CHECK: %[[R:.*]]:2 = kiln.if %{{.*}} : tensor<1xi1> -> tensor<4xf32>, tensor<4xf32> {
// CHECK: kiln.relu
// CHECK: kiln.yield
// CHECK: } else {
// CHECK: kiln.neg
// CHECK: kiln.yield
func.func @run_time_if(%c: tensor<1xi1>, %x: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>) {
  %r:2 = kiln.if %c : tensor<1xi1> -> tensor<4xf32>, tensor<4xf32> {
    %a = kiln.relu %x : (tensor<4xf32>) -> tensor<4xf32>
    kiln.yield %a, %x : tensor<4xf32>, tensor<4xf32>
  } else {
    %b = kiln.neg %x : (tensor<4xf32>) -> tensor<4xf32>
    kiln.yield %b, %b : tensor<4xf32>, tensor<4xf32>
  }
  return %r#0, %r#1 : tensor<4xf32>, tensor<4xf32>
}

// -----

// A run-time Loop: trip count, condition and carried values; the body reads the iteration
// number, the condition and the carried values and yields the next condition and values.
// CHECK-LABEL: func @run_time_loop
// CHECK: kiln.loop %arg0, %arg1, %arg2 {max_iterations = 100 : i64} : (tensor<i64>, tensor<i1>, tensor<4xf32>) -> tensor<4xf32>
// CHECK: ^bb0(%{{.*}}: tensor<i64>, %{{.*}}: tensor<i1>, %{{.*}}: tensor<4xf32>):
// CHECK: kiln.yield
func.func @run_time_loop(%m: tensor<i64>, %c: tensor<i1>, %x: tensor<4xf32>) -> tensor<4xf32> {
  %r = kiln.loop %m, %c, %x {max_iterations = 100 : i64} : (tensor<i64>, tensor<i1>, tensor<4xf32>) -> tensor<4xf32> {
  ^bb0(%i: tensor<i64>, %cond: tensor<i1>, %s: tensor<4xf32>):
    %n = kiln.exp %s : (tensor<4xf32>) -> tensor<4xf32>
    kiln.yield %cond, %n : tensor<i1>, tensor<4xf32>
  }
  return %r : tensor<4xf32>
}
