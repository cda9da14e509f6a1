// RUN: kiln-opt --split-input-file --kiln-flatten-pointwise-kernels %s | FileCheck %s

// A 1x1 conv with a bias, a residual add and a relu on a 4x20 map runs on a 1x80 map: the
// activations are reshaped (views) outside, the weight stays as it is.
// CHECK-LABEL: func @flat
// CHECK: %[[X:.*]] = kiln.reshape %arg0 : (tensor<1x8x4x20xf32>) -> tensor<1x8x1x80xf32>
// CHECK: %[[R:.*]] = kiln.reshape %arg2 : (tensor<1x4x4x20xf32>) -> tensor<1x4x1x80xf32>
// CHECK: %[[K:.*]] = kiln.kernel "k0_conv_add_relu" (%[[X]], %arg1, %[[R]]) : (tensor<1x8x1x80xf32>, tensor<4x8x1x1xf32>, tensor<1x4x1x80xf32>) -> tensor<1x4x1x80xf32>
// CHECK: kiln.conv {{.*}} : (tensor<1x8x1x80xf32>, tensor<4x8x1x1xf32>, tensor<4xf32>) -> tensor<1x4x1x80xf32>
// CHECK: kiln.add {{.*}} : (tensor<1x4x1x80xf32>, tensor<1x4x1x80xf32>) -> tensor<1x4x1x80xf32>
// CHECK: kiln.relu {{.*}} : (tensor<1x4x1x80xf32>) -> tensor<1x4x1x80xf32>
// CHECK: %[[Y:.*]] = kiln.reshape %[[K]] : (tensor<1x4x1x80xf32>) -> tensor<1x4x4x20xf32>
// CHECK: return %[[Y]]
func.func @flat(%x: tensor<1x8x4x20xf32>, %w: tensor<4x8x1x1xf32>, %r: tensor<1x4x4x20xf32>) -> tensor<1x4x4x20xf32> {
  %0 = kiln.kernel "k0_conv_add_relu" (%x, %w, %r) : (tensor<1x8x4x20xf32>, tensor<4x8x1x1xf32>, tensor<1x4x4x20xf32>) -> tensor<1x4x4x20xf32> {
  ^bb0(%a: tensor<1x8x4x20xf32>, %b: tensor<4x8x1x1xf32>, %c: tensor<1x4x4x20xf32>):
    %bias = kiln.constant dense<[1.0, 2.0, 3.0, 4.0]> : tensor<4xf32>
    %1 = kiln.conv %a, %b, %bias {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x8x4x20xf32>, tensor<4x8x1x1xf32>, tensor<4xf32>) -> tensor<1x4x4x20xf32>
    %2 = kiln.add %1, %c : (tensor<1x4x4x20xf32>, tensor<1x4x4x20xf32>) -> tensor<1x4x4x20xf32>
    %3 = kiln.relu %2 : (tensor<1x4x4x20xf32>) -> tensor<1x4x4x20xf32>
    kiln.yield %3 : tensor<1x4x4x20xf32>
  }
  return %0 : tensor<1x4x4x20xf32>
}

// -----

// Left alone: a 3x3 window, a row broadcast, a strided conv, a rank-1 operand (it
// broadcasts along W).
// CHECK-LABEL: func @kept
// CHECK-NOT: kiln.reshape
func.func @kept(%x: tensor<1x8x4x20xf32>, %w3: tensor<4x8x3x3xf32>, %w: tensor<4x8x1x1xf32>, %row: tensor<1x1x1x20xf32>, %v: tensor<20xf32>) -> (tensor<1x4x4x20xf32>, tensor<1x4x4x20xf32>, tensor<1x4x2x10xf32>, tensor<1x4x4x20xf32>) {
  %0 = kiln.kernel "k0_conv" (%x, %w3) : (tensor<1x8x4x20xf32>, tensor<4x8x3x3xf32>) -> tensor<1x4x4x20xf32> {
  ^bb0(%a: tensor<1x8x4x20xf32>, %b: tensor<4x8x3x3xf32>):
    %1 = kiln.conv %a, %b {strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x8x4x20xf32>, tensor<4x8x3x3xf32>) -> tensor<1x4x4x20xf32>
    kiln.yield %1 : tensor<1x4x4x20xf32>
  }
  %2 = kiln.kernel "k1_conv_mul" (%x, %w, %row) : (tensor<1x8x4x20xf32>, tensor<4x8x1x1xf32>, tensor<1x1x1x20xf32>) -> tensor<1x4x4x20xf32> {
  ^bb0(%a: tensor<1x8x4x20xf32>, %b: tensor<4x8x1x1xf32>, %c: tensor<1x1x1x20xf32>):
    %1 = kiln.conv %a, %b {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x8x4x20xf32>, tensor<4x8x1x1xf32>) -> tensor<1x4x4x20xf32>
    %3 = kiln.mul %1, %c : (tensor<1x4x4x20xf32>, tensor<1x1x1x20xf32>) -> tensor<1x4x4x20xf32>
    kiln.yield %3 : tensor<1x4x4x20xf32>
  }
  %5 = kiln.kernel "k3_conv" (%x, %w) : (tensor<1x8x4x20xf32>, tensor<4x8x1x1xf32>) -> tensor<1x4x2x10xf32> {
  ^bb0(%a: tensor<1x8x4x20xf32>, %b: tensor<4x8x1x1xf32>):
    %1 = kiln.conv %a, %b {strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x8x4x20xf32>, tensor<4x8x1x1xf32>) -> tensor<1x4x2x10xf32>
    kiln.yield %1 : tensor<1x4x2x10xf32>
  }
  %6 = kiln.kernel "k4_conv_add" (%x, %w, %v) : (tensor<1x8x4x20xf32>, tensor<4x8x1x1xf32>, tensor<20xf32>) -> tensor<1x4x4x20xf32> {
  ^bb0(%a: tensor<1x8x4x20xf32>, %b: tensor<4x8x1x1xf32>, %c: tensor<20xf32>):
    %1 = kiln.conv %a, %b {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x8x4x20xf32>, tensor<4x8x1x1xf32>) -> tensor<1x4x4x20xf32>
    %3 = kiln.add %1, %c : (tensor<1x4x4x20xf32>, tensor<20xf32>) -> tensor<1x4x4x20xf32>
    kiln.yield %3 : tensor<1x4x4x20xf32>
  }
  return %0, %2, %5, %6 : tensor<1x4x4x20xf32>, tensor<1x4x4x20xf32>, tensor<1x4x2x10xf32>, tensor<1x4x4x20xf32>
}

// -----

// A narrow map with a weight packed in strips: flattened, the weight's view kept.
// CHECK-LABEL: func @packed
// CHECK: %[[X:.*]] = kiln.reshape %arg0 : (tensor<1x8x4x8xf32>) -> tensor<1x8x1x32xf32>
// CHECK: kiln.kernel "k0_conv" (%[[X]], %arg1) : (tensor<1x8x1x32xf32>, tensor<1x8x1x1x16xf32>) -> tensor<1x16x1x32xf32>
// CHECK: kiln.from_strips {{.*}} : (tensor<1x8x1x1x16xf32>) -> tensor<16x8x1x1xf32>
// CHECK: kiln.conv {{.*}} -> tensor<1x16x1x32xf32>
// CHECK: kiln.reshape {{.*}} : (tensor<1x16x1x32xf32>) -> tensor<1x16x4x8xf32>
func.func @packed(%x: tensor<1x8x4x8xf32>, %p: tensor<1x8x1x1x16xf32>) -> tensor<1x16x4x8xf32> {
  %0 = kiln.kernel "k0_conv" (%x, %p) : (tensor<1x8x4x8xf32>, tensor<1x8x1x1x16xf32>) -> tensor<1x16x4x8xf32> {
  ^bb0(%a: tensor<1x8x4x8xf32>, %b: tensor<1x8x1x1x16xf32>):
    %w = kiln.from_strips %b {width = 16 : i64} : (tensor<1x8x1x1x16xf32>) -> tensor<16x8x1x1xf32>
    %1 = kiln.conv %a, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x8x4x8xf32>, tensor<16x8x1x1xf32>) -> tensor<1x16x4x8xf32>
    kiln.yield %1 : tensor<1x16x4x8xf32>
  }
  return %0 : tensor<1x16x4x8xf32>
}
