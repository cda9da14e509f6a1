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

// -----

// With a multiple of 16 output channels the weight is stored in strips of 16 channels,
// [F/16, C, kh, kw, 16], read through kiln.from_strips: channel f of input c is at
// [f / 16, c, 0, 0, f % 16]. Here F = 16, C = 1, w[f] = f, so the strip holds 0 ... 15 in order.
// CHECK-LABEL: func @strips
// CHECK: %[[P:.*]] = kiln.constant {kiln.name = "strip_w"} dense_resource<strip_w.packed> : tensor<1x1x1x1x16xf32>
// CHECK: %[[W:.*]] = kiln.from_strips %[[P]] {width = 16 : i64} : (tensor<1x1x1x1x16xf32>) -> tensor<16x1x1x1xf32>
// CHECK: kiln.conv %{{.*}}, %[[W]]
// CHECK: strip_w.packed: "0x4000000000000000
func.func @strips(%x: tensor<1x1x7x7xf32>) -> tensor<1x16x7x7xf32> {
  %w = kiln.constant dense_resource<strip_w> : tensor<16x1x1x1xf32>
  %y = kiln.conv %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x1x7x7xf32>, tensor<16x1x1x1xf32>) -> tensor<1x16x7x7xf32>
  return %y : tensor<1x16x7x7xf32>
}
{-#
  dialect_resources: {
    builtin: {
      strip_w: "0x04000000000000000000803F0000004000004040000080400000A0400000C0400000E0400000004100001041000020410000304100004041000050410000604100007041"
    }
  }
#-}

// -----

// A 1x3 window on rows 17 wide (two vectors of 16 for 17 pixels) is packed like a narrow
// map's; a pointwise conv there is not (it runs on a flat row), nor a window on rows 28 wide.
// CHECK-LABEL: func @ragged
// CHECK: %[[P:.*]] = kiln.constant {kiln.name = "ragged_w"} dense_resource<ragged_w.packed> : tensor<1x1x3x1xf32>
// CHECK: %[[W:.*]] = kiln.transpose %[[P]] {kiln.weight_view, perm = array<i64: 3, 0, 1, 2>}
// CHECK: kiln.conv %{{.*}}, %[[W]]
// CHECK: kiln.conv %{{.*}}, %{{.*}} {{{.*}}} : (tensor<1x1x17x17xf32>, tensor<1x1x1x1xf32>)
// CHECK: kiln.conv %{{.*}}, %{{.*}} {{{.*}}} : (tensor<1x1x28x30xf32>, tensor<1x1x1x3xf32>)
func.func @ragged(%x: tensor<1x1x17x19xf32>, %x1: tensor<1x1x17x17xf32>, %x2: tensor<1x1x28x30xf32>) -> (tensor<1x1x17x17xf32>, tensor<1x1x17x17xf32>, tensor<1x1x28x28xf32>) {
  %w = kiln.constant dense_resource<ragged_w> : tensor<1x1x1x3xf32>
  %y = kiln.conv %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x1x17x19xf32>, tensor<1x1x1x3xf32>) -> tensor<1x1x17x17xf32>
  %w1 = kiln.constant dense_resource<point_w> : tensor<1x1x1x1xf32>
  %y1 = kiln.conv %x1, %w1 {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x1x17x17xf32>, tensor<1x1x1x1xf32>) -> tensor<1x1x17x17xf32>
  %w2 = kiln.constant dense_resource<wide_w> : tensor<1x1x1x3xf32>
  %y2 = kiln.conv %x2, %w2 {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x1x28x30xf32>, tensor<1x1x1x3xf32>) -> tensor<1x1x28x28xf32>
  return %y, %y1, %y2 : tensor<1x1x17x17xf32>, tensor<1x1x17x17xf32>, tensor<1x1x28x28xf32>
}
{-#
  dialect_resources: {
    builtin: {
      ragged_w: "0x040000000000803F0000004000004040",
      point_w: "0x040000000000803F",
      wide_w: "0x040000000000803F0000004000004040"
    }
  }
#-}

// -----

// Grouped convolutions on a 7x7 map: groups of 16 filters are whole strips and are packed;
// groups of 8 would put two groups in one strip, and stay as they are.
// CHECK-LABEL: func @grouped
// CHECK: kiln.from_strips
// CHECK-SAME: -> tensor<32x2x3x3xf32>
// CHECK: kiln.conv {{.*}}groups = 2
// CHECK-NOT: kiln.from_strips
// CHECK: kiln.conv {{.*}}groups = 4
func.func @grouped(%x: tensor<1x4x9x9xf32>, %x2: tensor<1x8x9x9xf32>) -> (tensor<1x32x7x7xf32>, tensor<1x32x7x7xf32>) {
  %w = kiln.constant dense<1.0> : tensor<32x2x3x3xf32>
  %y = kiln.conv %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 2 : i64} : (tensor<1x4x9x9xf32>, tensor<32x2x3x3xf32>) -> tensor<1x32x7x7xf32>
  %w2 = kiln.constant dense<2.0> : tensor<32x2x3x3xf32>
  %y2 = kiln.conv %x2, %w2 {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 4 : i64} : (tensor<1x8x9x9xf32>, tensor<32x2x3x3xf32>) -> tensor<1x32x7x7xf32>
  return %y, %y2 : tensor<1x32x7x7xf32>, tensor<1x32x7x7xf32>
}
