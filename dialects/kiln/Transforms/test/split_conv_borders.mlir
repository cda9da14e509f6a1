// RUN: kiln-opt --split-input-file --kiln-split-conv-borders="min-piece-work=0" %s | FileCheck %s
// RUN: kiln-opt --split-input-file --kiln-split-conv-borders %s | FileCheck %s --check-prefix=DEFAULT

// With the default min-piece-work (2^20 multiply-adds a piece), these 2-channel convolutions
// are too small to split into pieces; the one-piece case is always rewritten.
// DEFAULT-LABEL: func @one_piece
// DEFAULT: pads = array<i64: 0, 0, 0, 0>
// DEFAULT-LABEL: func @nine_pieces
// DEFAULT-NOT: kiln.slice
// DEFAULT: pads = array<i64: 6, 6, 6, 6>

// A rate-12 3x3 on a 7x7 map: the off-centre taps always read padding, so the convolution
// is the centre tap alone, a pad-free 1x1 with the same bias.
// CHECK-LABEL: func @one_piece
// CHECK-NOT: kiln.slice
// CHECK: %[[W:.*]] = kiln.constant dense<{{.*}}> : tensor<2x2x1x1xf32>
// CHECK: %[[Y:.*]] = kiln.conv %{{.*}}, %[[W]], %{{.*}} {dilations = array<i64: 1, 1>, groups = 1 : i64, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>}
// CHECK-SAME: -> tensor<1x2x7x7xf32>
// CHECK-NOT: kiln.concat
// CHECK: return %[[Y]]
func.func @one_piece(%x: tensor<1x2x7x7xf32>) -> tensor<1x2x7x7xf32> {
  %w = kiln.constant dense<[[[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]], [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]]], [[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]], [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]]]]> : tensor<2x2x3x3xf32>
  %b = kiln.constant dense<[1.0, 2.0]> : tensor<2xf32>
  %y = kiln.conv %x, %w, %b {strides = array<i64: 1, 1>, pads = array<i64: 12, 12, 12, 12>, dilations = array<i64: 12, 12>, groups = 1 : i64} : (tensor<1x2x7x7xf32>, tensor<2x2x3x3xf32>, tensor<2xf32>) -> tensor<1x2x7x7xf32>
  return %y : tensor<1x2x7x7xf32>
}

// -----

// A rate-6 3x3 on a 10x10 map: 64% of the multiply-adds would read padding. Each axis has
// three bands (rows 0-3 read taps 1-2, rows 4-5 tap 1, rows 6-9 taps 0-1), so nine pad-free
// pieces over the input slices they read, concatenated along x, then y.
// CHECK-LABEL: func @nine_pieces
// CHECK-NOT: pads = array<i64: 6
// CHECK: kiln.conv %arg0, %{{.*}} : (tensor<1x2x10x10xf32>, tensor<2x2x2x2xf32>, tensor<2xf32>) -> tensor<1x2x4x4xf32>
// CHECK: kiln.slice %arg0 {starts = array<i64: 0, 0, 0, 4>, {{.*}} -> tensor<1x2x10x2xf32>
// CHECK: kiln.conv {{.*}} -> tensor<1x2x4x2xf32>
// CHECK: kiln.concat {{.*}} {axis = 3 : i64} {{.*}} -> tensor<1x2x4x10xf32>
// CHECK: kiln.slice %arg0 {starts = array<i64: 0, 0, 4, 4>, {{.*}} -> tensor<1x2x2x2xf32>
// CHECK: kiln.conv {{.*}} : (tensor<1x2x2x2xf32>, tensor<2x2x1x1xf32>, tensor<2xf32>) -> tensor<1x2x2x2xf32>
// CHECK: kiln.concat {{.*}} {axis = 2 : i64} : (tensor<1x2x4x10xf32>, tensor<1x2x2x10xf32>, tensor<1x2x4x10xf32>) -> tensor<1x2x10x10xf32>
// CHECK-NOT: pads = array<i64: 6
func.func @nine_pieces(%x: tensor<1x2x10x10xf32>) -> tensor<1x2x10x10xf32> {
  %w = kiln.constant dense<0.5> : tensor<2x2x3x3xf32>
  %b = kiln.constant dense<[1.0, 2.0]> : tensor<2xf32>
  %y = kiln.conv %x, %w, %b {strides = array<i64: 1, 1>, pads = array<i64: 6, 6, 6, 6>, dilations = array<i64: 6, 6>, groups = 1 : i64} : (tensor<1x2x10x10xf32>, tensor<2x2x3x3xf32>, tensor<2xf32>) -> tensor<1x2x10x10xf32>
  return %y : tensor<1x2x10x10xf32>
}

// -----

// A 3x3 with pad 1 on a 16x16 map: padding is 23% of the work, under the 30% threshold;
// the convolution keeps its border.
// CHECK-LABEL: func @border_kept
// CHECK-NOT: kiln.slice
// CHECK: kiln.conv %{{.*}} {dilations = array<i64: 1, 1>, groups = 1 : i64, pads = array<i64: 1, 1, 1, 1>
func.func @border_kept(%x: tensor<1x2x16x16xf32>) -> tensor<1x2x16x16xf32> {
  %w = kiln.constant dense<0.5> : tensor<2x2x3x3xf32>
  %y = kiln.conv %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x2x16x16xf32>, tensor<2x2x3x3xf32>) -> tensor<1x2x16x16xf32>
  return %y : tensor<1x2x16x16xf32>
}
