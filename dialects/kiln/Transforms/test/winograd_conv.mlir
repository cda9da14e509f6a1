// RUN: kiln-opt --split-input-file --kiln-winograd-conv="min-channels=1 tile=2" %s | FileCheck %s
// RUN: kiln-opt --split-input-file --kiln-winograd-conv %s | FileCheck %s --check-prefix=DEFAULT

// A 3x3 stride-1 conv becomes kiln.winograd_conv on U = G g G^T, stored [4, 4, F/16, C, 16]
// with the output channels padded to 16. For g = [[1, 2, 3], [4, 5, 6], [7, 8, 9]] and F(2x2):
// U[0][0] = g[0][0] = 1, U[0][1] = (1 + 2 + 3) / 2 = 3, U[0][2] = (1 - 2 + 3) / 2 = 1, each
// followed by the 15 zero padding channels.
// CHECK-LABEL: func @small
// CHECK: %[[U:.*]] = kiln.constant {kiln.name = "conv_w"} dense_resource<conv_w.winograd> : tensor<4x4x1x1x16xf32>
// CHECK: kiln.winograd_conv %{{.*}}, %[[U]], %{{.*}} {pads = array<i64: 1, 1, 1, 1>, tile = 2 : i64} : (tensor<1x1x8x8xf32>, tensor<4x4x1x1x16xf32>, tensor<1xf32>) -> tensor<1x1x8x8xf32>
// CHECK-NOT: kiln.conv
// CHECK: conv_w.winograd: "0x400000000000803F000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000040400000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000803F
// DEFAULT-LABEL: func @small
// DEFAULT: kiln.conv
func.func @small(%x: tensor<1x1x8x8xf32>, %b: tensor<1xf32>) -> tensor<1x1x8x8xf32> {
  %w = kiln.constant dense_resource<conv_w> : tensor<1x1x3x3xf32>
  %y = kiln.conv %x, %w, %b {strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x1x8x8xf32>, tensor<1x1x3x3xf32>, tensor<1xf32>) -> tensor<1x1x8x8xf32>
  return %y : tensor<1x1x8x8xf32>
}
{-#
  dialect_resources: {
    builtin: {
      conv_w: "0x040000000000803F0000004000004040000080400000A0400000C0400000E0400000004100001041"
    }
  }
#-}

// -----

// Strided, dilated, grouped, 1x1 and runtime-weight convolutions stay direct.
// CHECK-LABEL: func @direct
// CHECK-NOT: kiln.winograd_conv
// CHECK-COUNT-5: kiln.conv
func.func @direct(%x: tensor<1x2x8x8xf32>, %v: tensor<2x2x3x3xf32>) -> (tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>, tensor<1x2x8x8xf32>, tensor<1x2x8x8xf32>, tensor<1x2x8x8xf32>) {
  %w = kiln.constant dense<1.0> : tensor<2x2x3x3xf32>
  %g = kiln.constant dense<1.0> : tensor<2x1x3x3xf32>
  %p = kiln.constant dense<1.0> : tensor<2x2x1x1xf32>
  %0 = kiln.conv %x, %w {strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x2x8x8xf32>, tensor<2x2x3x3xf32>) -> tensor<1x2x4x4xf32>
  %1 = kiln.conv %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 2, 2>, groups = 1 : i64} : (tensor<1x2x8x8xf32>, tensor<2x2x3x3xf32>) -> tensor<1x2x4x4xf32>
  %2 = kiln.conv %x, %g {strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, groups = 2 : i64} : (tensor<1x2x8x8xf32>, tensor<2x1x3x3xf32>) -> tensor<1x2x8x8xf32>
  %3 = kiln.conv %x, %p {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x2x8x8xf32>, tensor<2x2x1x1xf32>) -> tensor<1x2x8x8xf32>
  %4 = kiln.conv %x, %v {strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x2x8x8xf32>, tensor<2x2x3x3xf32>) -> tensor<1x2x8x8xf32>
  return %0, %1, %2, %3, %4 : tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>, tensor<1x2x8x8xf32>, tensor<1x2x8x8xf32>, tensor<1x2x8x8xf32>
}

// -----

// The default tile: F(4x4) on a 16x16 map, F(2x2) on a 7x7 map (winogradCost).
// DEFAULT-LABEL: func @tiles
// DEFAULT: kiln.winograd_conv {{.*}}tile = 4 : i64{{.*}}tensor<6x6x2x32x16xf32>{{.*}} -> tensor<1x32x16x16xf32>
// DEFAULT: kiln.winograd_conv {{.*}}tile = 2 : i64{{.*}}tensor<4x4x2x32x16xf32>{{.*}} -> tensor<1x32x7x7xf32>
func.func @tiles(%x: tensor<1x32x16x16xf32>, %y: tensor<1x32x7x7xf32>) -> (tensor<1x32x16x16xf32>, tensor<1x32x7x7xf32>) {
  %w = kiln.constant dense<0.5> : tensor<32x32x3x3xf32>
  %0 = kiln.conv %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x32x16x16xf32>, tensor<32x32x3x3xf32>) -> tensor<1x32x16x16xf32>
  %1 = kiln.conv %y, %w {strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x32x7x7xf32>, tensor<32x32x3x3xf32>) -> tensor<1x32x7x7xf32>
  return %0, %1 : tensor<1x32x16x16xf32>, tensor<1x32x7x7xf32>
}
