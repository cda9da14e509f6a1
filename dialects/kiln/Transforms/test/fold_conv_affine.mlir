// RUN: kiln-opt --split-input-file --kiln-fold-conv-affine %s | FileCheck %s

// BatchNorm's per-channel multiply-add after a conv folds into new weights and a bias.
// CHECK-LABEL: func @batchnorm
// CHECK-NOT: kiln.mul
// CHECK-NOT: kiln.add
// CHECK: %[[W:.*]] = kiln.constant dense<{{.*}}> : tensor<2x2x1x1xf32>
// CHECK: %[[B:.*]] = kiln.constant dense<[3.000000e+00, 5.000000e+00]> : tensor<2xf32>
// CHECK: %[[Y:.*]] = kiln.conv %{{.*}}, %[[W]], %[[B]]
// CHECK: return %[[Y]]
func.func @batchnorm(%x: tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32> {
  %w = kiln.constant dense<[[[[1.0]], [[2.0]]], [[[3.0]], [[4.0]]]]> : tensor<2x2x1x1xf32>
  %s = kiln.constant dense<[[[2.0]], [[0.5]]]> : tensor<2x1x1xf32>
  %t = kiln.constant dense<[[[3.0]], [[5.0]]]> : tensor<2x1x1xf32>
  %c = kiln.conv %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x2x4x4xf32>, tensor<2x2x1x1xf32>) -> tensor<1x2x4x4xf32>
  %m = kiln.mul %c, %s : (tensor<1x2x4x4xf32>, tensor<2x1x1xf32>) -> tensor<1x2x4x4xf32>
  %y = kiln.add %m, %t : (tensor<1x2x4x4xf32>, tensor<2x1x1xf32>) -> tensor<1x2x4x4xf32>
  return %y : tensor<1x2x4x4xf32>
}

// -----

// A conv read by something else keeps its output: no folding.
// CHECK-LABEL: func @shared
// CHECK: kiln.mul
func.func @shared(%x: tensor<1x2x4x4xf32>) -> (tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>) {
  %w = kiln.constant dense<1.0> : tensor<2x2x1x1xf32>
  %s = kiln.constant dense<[[[2.0]], [[0.5]]]> : tensor<2x1x1xf32>
  %c = kiln.conv %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x2x4x4xf32>, tensor<2x2x1x1xf32>) -> tensor<1x2x4x4xf32>
  %m = kiln.mul %c, %s : (tensor<1x2x4x4xf32>, tensor<2x1x1xf32>) -> tensor<1x2x4x4xf32>
  return %m, %c : tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>
}

// -----

// A scale that varies along the spatial axes is not per-channel: no folding.
// CHECK-LABEL: func @spatial
// CHECK: kiln.mul
func.func @spatial(%x: tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32> {
  %w = kiln.constant dense<1.0> : tensor<2x2x1x1xf32>
  %s = kiln.constant dense<[1.0, 2.0, 3.0, 4.0]> : tensor<4xf32>
  %c = kiln.conv %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x2x4x4xf32>, tensor<2x2x1x1xf32>) -> tensor<1x2x4x4xf32>
  %m = kiln.mul %c, %s : (tensor<1x2x4x4xf32>, tensor<4xf32>) -> tensor<1x2x4x4xf32>
  return %m : tensor<1x2x4x4xf32>
}
