// RUN: kiln-opt --split-input-file --kiln-fuse-layer-norm --canonicalize %s | FileCheck %s

// PaddlePaddle's export: mean, sub, pow 2, mean, add eps, sqrt, div. One layer_norm remains,
// and the scale and shift that follow stay elementwise.
// CHECK-LABEL: func @paddle
// CHECK-NEXT: %[[C:.*]] = kiln.constant
// CHECK-NEXT: %[[N:.*]] = kiln.layer_norm %arg0 {axis = 2 : i64, epsilon = 9.9999997473787516E-6 : f64} : (tensor<1x40x120xf32>) -> tensor<1x40x120xf32>
// CHECK-NEXT: %[[M:.*]] = kiln.mul %[[N]], %[[C]]
// CHECK-NEXT: return %[[M]]
func.func @paddle(%x: tensor<1x40x120xf32>) -> tensor<1x40x120xf32> {
  %two = kiln.constant dense<2.0> : tensor<f32>
  %eps = kiln.constant dense<1.0e-5> : tensor<f32>
  %scale = kiln.constant dense<0.5> : tensor<120xf32>
  %m = kiln.reduce %x {axes = array<i64: 2>, kind = "mean"} : (tensor<1x40x120xf32>) -> tensor<1x40x1xf32>
  %d = kiln.sub %x, %m : (tensor<1x40x120xf32>, tensor<1x40x1xf32>) -> tensor<1x40x120xf32>
  %p = kiln.pow %d, %two : (tensor<1x40x120xf32>, tensor<f32>) -> tensor<1x40x120xf32>
  %v = kiln.reduce %p {axes = array<i64: 2>, kind = "mean"} : (tensor<1x40x120xf32>) -> tensor<1x40x1xf32>
  %ve = kiln.add %v, %eps : (tensor<1x40x1xf32>, tensor<f32>) -> tensor<1x40x1xf32>
  %s = kiln.sqrt %ve : (tensor<1x40x1xf32>) -> tensor<1x40x1xf32>
  %n = kiln.div %d, %s : (tensor<1x40x120xf32>, tensor<1x40x1xf32>) -> tensor<1x40x120xf32>
  %y = kiln.mul %n, %scale : (tensor<1x40x120xf32>, tensor<120xf32>) -> tensor<1x40x120xf32>
  return %y : tensor<1x40x120xf32>
}

// -----

// The importer's own decomposed form (kept when Mean/InvStdDev outputs are read): a product
// of the deviation with itself, epsilon on the left, a multiply by the reciprocal; over the
// last two axes.
// CHECK-LABEL: func @reciprocal
// CHECK: kiln.layer_norm %arg0 {axis = 1 : i64, epsilon = 0.0010000000474974513 : f64}
// CHECK-NOT: kiln.reciprocal
func.func @reciprocal(%x: tensor<2x8x16xf32>) -> tensor<2x8x16xf32> {
  %eps = kiln.constant dense<1.0e-3> : tensor<1xf32>
  %m = kiln.reduce %x {axes = array<i64: 1, 2>, kind = "mean"} : (tensor<2x8x16xf32>) -> tensor<2x1x1xf32>
  %d = kiln.sub %x, %m : (tensor<2x8x16xf32>, tensor<2x1x1xf32>) -> tensor<2x8x16xf32>
  %p = kiln.mul %d, %d : (tensor<2x8x16xf32>, tensor<2x8x16xf32>) -> tensor<2x8x16xf32>
  %v = kiln.reduce %p {axes = array<i64: 1, 2>, kind = "mean"} : (tensor<2x8x16xf32>) -> tensor<2x1x1xf32>
  %ve = kiln.add %eps, %v : (tensor<1xf32>, tensor<2x1x1xf32>) -> tensor<2x1x1xf32>
  %s = kiln.sqrt %ve : (tensor<2x1x1xf32>) -> tensor<2x1x1xf32>
  %r = kiln.reciprocal %s : (tensor<2x1x1xf32>) -> tensor<2x1x1xf32>
  %n = kiln.mul %d, %r : (tensor<2x8x16xf32>, tensor<2x1x1xf32>) -> tensor<2x8x16xf32>
  return %n : tensor<2x8x16xf32>
}

// -----

// Not a layer norm: the variance is taken over a different axis than the mean, the square
// is a cube, and the mean is over a leading axis. Nothing changes.
// CHECK-LABEL: func @mismatched
// CHECK-NOT: kiln.layer_norm
func.func @mismatched(%x: tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>) {
  %two = kiln.constant dense<2.0> : tensor<f32>
  %three = kiln.constant dense<3.0> : tensor<f32>
  %eps = kiln.constant dense<1.0e-5> : tensor<f32>
  %m = kiln.reduce %x {axes = array<i64: 1>, kind = "mean"} : (tensor<4x8xf32>) -> tensor<4x1xf32>
  %d = kiln.sub %x, %m : (tensor<4x8xf32>, tensor<4x1xf32>) -> tensor<4x8xf32>
  %p = kiln.pow %d, %two : (tensor<4x8xf32>, tensor<f32>) -> tensor<4x8xf32>
  %v0 = kiln.reduce %p {axes = array<i64: 0>, kind = "mean"} : (tensor<4x8xf32>) -> tensor<1x8xf32>
  %s0 = kiln.sqrt %v0 : (tensor<1x8xf32>) -> tensor<1x8xf32>
  %a = kiln.div %d, %s0 : (tensor<4x8xf32>, tensor<1x8xf32>) -> tensor<4x8xf32>
  %c = kiln.pow %d, %three : (tensor<4x8xf32>, tensor<f32>) -> tensor<4x8xf32>
  %v1 = kiln.reduce %c {axes = array<i64: 1>, kind = "mean"} : (tensor<4x8xf32>) -> tensor<4x1xf32>
  %ve1 = kiln.add %v1, %eps : (tensor<4x1xf32>, tensor<f32>) -> tensor<4x1xf32>
  %s1 = kiln.sqrt %ve1 : (tensor<4x1xf32>) -> tensor<4x1xf32>
  %b = kiln.div %d, %s1 : (tensor<4x8xf32>, tensor<4x1xf32>) -> tensor<4x8xf32>
  %mc = kiln.reduce %x {axes = array<i64: 0>, kind = "mean"} : (tensor<4x8xf32>) -> tensor<1x8xf32>
  %dc = kiln.sub %x, %mc : (tensor<4x8xf32>, tensor<1x8xf32>) -> tensor<4x8xf32>
  %pc = kiln.pow %dc, %two : (tensor<4x8xf32>, tensor<f32>) -> tensor<4x8xf32>
  %vc = kiln.reduce %pc {axes = array<i64: 0>, kind = "mean"} : (tensor<4x8xf32>) -> tensor<1x8xf32>
  %vec = kiln.add %vc, %eps : (tensor<1x8xf32>, tensor<f32>) -> tensor<1x8xf32>
  %sc = kiln.sqrt %vec : (tensor<1x8xf32>) -> tensor<1x8xf32>
  %e = kiln.div %dc, %sc : (tensor<4x8xf32>, tensor<1x8xf32>) -> tensor<4x8xf32>
  return %a, %b, %e : tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>
}
