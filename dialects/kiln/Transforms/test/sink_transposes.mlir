// RUN: kiln-opt --split-input-file --kiln-sink-transposes %s | FileCheck %s

// A transpose, an elementwise chain, and the inverse transpose: the transposes move below
// the chain, meet, compose to the identity and vanish.
// CHECK-LABEL: func @round_trip
// CHECK-NEXT: %[[C:.*]] = kiln.constant dense<2.000000e+00> : tensor<f32>
// CHECK-NEXT: %[[R:.*]] = kiln.relu %arg0 : (tensor<1x8x5xf32>) -> tensor<1x8x5xf32>
// CHECK-NEXT: %[[M:.*]] = kiln.mul %[[R]], %[[C]] : (tensor<1x8x5xf32>, tensor<f32>) -> tensor<1x8x5xf32>
// CHECK-NEXT: return %[[M]]
func.func @round_trip(%x: tensor<1x8x5xf32>) -> tensor<1x8x5xf32> {
  %two = kiln.constant dense<2.0> : tensor<f32>
  %t = kiln.transpose %x {perm = array<i64: 0, 2, 1>} : (tensor<1x8x5xf32>) -> tensor<1x5x8xf32>
  %r = kiln.relu %t : (tensor<1x5x8xf32>) -> tensor<1x5x8xf32>
  %m = kiln.mul %r, %two : (tensor<1x5x8xf32>, tensor<f32>) -> tensor<1x5x8xf32>
  %y = kiln.transpose %m {perm = array<i64: 0, 2, 1>} : (tensor<1x5x8xf32>) -> tensor<1x8x5xf32>
  return %y : tensor<1x8x5xf32>
}

// -----

// Two transposes compose into one; a binary op on two operands transposed alike takes the
// untransposed ones.
// CHECK-LABEL: func @compose
// CHECK-NEXT: %[[A:.*]] = kiln.add %arg0, %arg1 : (tensor<2x3x4xf32>, tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
// CHECK-NEXT: %[[T:.*]] = kiln.transpose %[[A]] {perm = array<i64: 2, 0, 1>} : (tensor<2x3x4xf32>) -> tensor<4x2x3xf32>
// CHECK-NEXT: return %[[T]]
func.func @compose(%x: tensor<2x3x4xf32>, %y: tensor<2x3x4xf32>) -> tensor<4x2x3xf32> {
  %a = kiln.transpose %x {perm = array<i64: 1, 0, 2>} : (tensor<2x3x4xf32>) -> tensor<3x2x4xf32>
  %b = kiln.transpose %y {perm = array<i64: 1, 0, 2>} : (tensor<2x3x4xf32>) -> tensor<3x2x4xf32>
  %s = kiln.add %a, %b : (tensor<3x2x4xf32>, tensor<3x2x4xf32>) -> tensor<3x2x4xf32>
  %t = kiln.transpose %s {perm = array<i64: 2, 1, 0>} : (tensor<3x2x4xf32>) -> tensor<4x2x3xf32>
  return %t : tensor<4x2x3xf32>
}

// -----

// A transpose that only moves an axis of extent 1 is a reshape.
// CHECK-LABEL: func @unit_axis
// CHECK-NEXT: %[[R:.*]] = kiln.reshape %arg0 : (tensor<1x40x1x120xf32>) -> tensor<1x1x40x120xf32>
// CHECK-NEXT: return %[[R]]
func.func @unit_axis(%x: tensor<1x40x1x120xf32>) -> tensor<1x1x40x120xf32> {
  %t = kiln.transpose %x {perm = array<i64: 0, 2, 1, 3>} : (tensor<1x40x1x120xf32>) -> tensor<1x1x40x120xf32>
  return %t : tensor<1x1x40x120xf32>
}

// -----

// Stays: the transposed value has a second reader, the other operand broadcasts along a
// permuted axis, and the other operand is not transposed. (The identity transpose folds.)
// CHECK-LABEL: func @blocked
// CHECK-COUNT-3: kiln.transpose
// CHECK-NOT: kiln.transpose
func.func @blocked(%x: tensor<2x3xf32>, %v: tensor<2xf32>, %y: tensor<3x2xf32>) -> (tensor<3x2xf32>, tensor<3x2xf32>, tensor<3x2xf32>, tensor<3x2xf32>) {
  %t = kiln.transpose %x {perm = array<i64: 1, 0>} : (tensor<2x3xf32>) -> tensor<3x2xf32>
  %e = kiln.exp %t : (tensor<3x2xf32>) -> tensor<3x2xf32>
  %u = kiln.transpose %x {perm = array<i64: 1, 0>} : (tensor<2x3xf32>) -> tensor<3x2xf32>
  %b = kiln.add %u, %v : (tensor<3x2xf32>, tensor<2xf32>) -> tensor<3x2xf32>
  %w = kiln.transpose %y {perm = array<i64: 0, 1>} : (tensor<3x2xf32>) -> tensor<3x2xf32>
  %z = kiln.transpose %x {perm = array<i64: 1, 0>} : (tensor<2x3xf32>) -> tensor<3x2xf32>
  %c = kiln.mul %z, %y : (tensor<3x2xf32>, tensor<3x2xf32>) -> tensor<3x2xf32>
  return %t, %e, %b, %c : tensor<3x2xf32>, tensor<3x2xf32>, tensor<3x2xf32>, tensor<3x2xf32>
}
