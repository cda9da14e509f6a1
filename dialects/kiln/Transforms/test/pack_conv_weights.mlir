// RUN: kiln-opt --split-input-file --kiln-pack-conv-weights %s | FileCheck %s

// A 7x7 pointwise conv: its [F=3, C=2, 1, 1] weight is stored [C, 1, 1, F] and read through a
// transpose view.
// CHECK-LABEL: func @narrow
// CHECK: %[[P:.*]] = kiln.constant {kiln.name = "conv_w"} dense_resource<conv_w.packed> : tensor<2x1x1x3xf32>
// CHECK: %[[W:.*]] = kiln.transpose %[[P]] {kiln.weight_view, perm = array<i64: 3, 0, 1, 2>} : (tensor<2x1x1x3xf32>) -> tensor<3x2x1x1xf32>
// CHECK: kiln.conv %{{.*}}, %[[W]]
func.func @narrow(%x: tensor<1x2x7x7xf32>) -> tensor<1x3x7x7xf32> {
  %w = kiln.constant dense_resource<conv_w> : tensor<3x2x1x1xf32>
  %y = kiln.conv %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x2x7x7xf32>, tensor<3x2x1x1xf32>) -> tensor<1x3x7x7xf32>
  return %y : tensor<1x3x7x7xf32>
}
{-#
  dialect_resources: {
    builtin: {
      conv_w: "0x04000000614B4DBF9884A9BF82527EBE9944D73EF969913FC0ADE03D"
    }
  }
#-}

// -----

// Wide feature maps keep the ONNX layout.
// CHECK-LABEL: func @wide
// CHECK-NOT: kiln.transpose
func.func @wide(%x: tensor<1x2x32x32xf32>, %w: tensor<3x2x1x1xf32>) -> tensor<1x3x32x32xf32> {
  %y = kiln.conv %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x2x32x32xf32>, tensor<3x2x1x1xf32>) -> tensor<1x3x32x32xf32>
  return %y : tensor<1x3x32x32xf32>
}
