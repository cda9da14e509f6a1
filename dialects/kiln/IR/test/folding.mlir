// RUN: kiln-opt --split-input-file --canonicalize %s | FileCheck %s

// Shape arithmetic on constants folds away: concat of sliced and cast shape constants.
// CHECK-LABEL: func @shape_arithmetic
func.func @shape_arithmetic() -> tensor<2xi64> {
  // CHECK: %[[C:.*]] = kiln.constant dense<[1, 96]> : tensor<2xi64>
  // CHECK-NEXT: return %[[C]]
  %shape = kiln.constant dense<[1, 96, 1, 1]> : tensor<4xi64>
  %first = kiln.slice %shape {starts = array<i64: 0>, steps = array<i64: 1>} : (tensor<4xi64>) -> tensor<1xi64>
  %i32 = kiln.cast %first : (tensor<1xi64>) -> tensor<1xi32>
  %back = kiln.cast %i32 : (tensor<1xi32>) -> tensor<1xi64>
  %index = kiln.constant dense<1> : tensor<1xi64>
  %second = kiln.gather %shape, %index {axis = 0 : i64} : (tensor<4xi64>, tensor<1xi64>) -> tensor<1xi64>
  %joined = kiln.concat %back, %second {axis = 0 : i64} : (tensor<1xi64>, tensor<1xi64>) -> tensor<2xi64>
  return %joined : tensor<2xi64>
}

// -----

// Elementwise ops on constants fold with broadcasting (BatchNorm statistics).
// CHECK-LABEL: func @batchnorm_constants
func.func @batchnorm_constants() -> tensor<2xf32> {
  // CHECK: kiln.constant dense<[5.000000e-01, 2.500000e-01]> : tensor<2xf32>
  %var = kiln.constant dense<[4.0, 16.0]> : tensor<2xf32>
  %one = kiln.constant dense<1.0> : tensor<f32>
  %sd = kiln.sqrt %var : (tensor<2xf32>) -> tensor<2xf32>
  %inv = kiln.div %one, %sd : (tensor<f32>, tensor<2xf32>) -> tensor<2xf32>
  %half = kiln.constant dense<2.0> : tensor<f32>
  %r = kiln.div %inv, %half : (tensor<2xf32>, tensor<f32>) -> tensor<2xf32>
  %scaled = kiln.mul %r, %half : (tensor<2xf32>, tensor<f32>) -> tensor<2xf32>
  return %scaled : tensor<2xf32>
}

// -----

// x * 1 and x + 0 disappear; identity reshape and transpose fold to their input.
// CHECK-LABEL: func @identities
// CHECK-SAME: (%[[X:.*]]: tensor<2x3xf32>)
func.func @identities(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  // CHECK-NEXT: return %[[X]]
  %one = kiln.constant dense<1.0> : tensor<f32>
  %zero = kiln.constant dense<0.0> : tensor<3xf32>
  %a = kiln.mul %x, %one : (tensor<2x3xf32>, tensor<f32>) -> tensor<2x3xf32>
  %b = kiln.add %zero, %a : (tensor<3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  %c = kiln.reshape %b : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %d = kiln.transpose %c {perm = array<i64: 0, 1>} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  return %d : tensor<2x3xf32>
}

// -----

// Chained reshapes collapse into one; clip absorbs a preceding relu.
// CHECK-LABEL: func @chains
func.func @chains(%x: tensor<2x3xf32>) -> (tensor<6xf32>, tensor<2x3xf32>) {
  // CHECK: kiln.reshape %{{.*}} : (tensor<2x3xf32>) -> tensor<6xf32>
  %a = kiln.reshape %x : (tensor<2x3xf32>) -> tensor<3x2xf32>
  %b = kiln.reshape %a : (tensor<3x2xf32>) -> tensor<6xf32>
  // CHECK-NOT: kiln.relu
  // CHECK: kiln.clip %{{.*}} {max = 6.000000e+00 : f64, min = 0.000000e+00 : f64}
  %r = kiln.relu %x : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %c = kiln.clip %r {min = 0.0 : f64, max = 6.0 : f64} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  return %b, %c : tensor<6xf32>, tensor<2x3xf32>
}

// -----

// An if on a constant condition is the taken branch (the importer does this for ONNX If
// with a constant condition; canonicalization does it for conditions that fold later).
// CHECK-LABEL: func @if_constant_condition
// CHECK-NOT: kiln.if
// CHECK: %[[N:.*]] = kiln.neg %arg0
// CHECK: return %[[N]]
func.func @if_constant_condition(%x: tensor<4xf32>) -> tensor<4xf32> {
  %c = kiln.constant dense<false> : tensor<i1>
  %r = kiln.if %c : tensor<i1> -> tensor<4xf32> {
    %a = kiln.relu %x : (tensor<4xf32>) -> tensor<4xf32>
    kiln.yield %a : tensor<4xf32>
  } else {
    %b = kiln.neg %x : (tensor<4xf32>) -> tensor<4xf32>
    kiln.yield %b : tensor<4xf32>
  }
  return %r : tensor<4xf32>
}

// -----

// Not folds on constants: shape tests such as `rank != 2` decide an If at compile time.
// CHECK-LABEL: func @not_folds
// CHECK: %[[C:.*]] = kiln.constant dense<[false, true]> : tensor<2xi1>
// CHECK: return %[[C]]
func.func @not_folds() -> tensor<2xi1> {
  %c = kiln.constant dense<[true, false]> : tensor<2xi1>
  %n = kiln.not %c : (tensor<2xi1>) -> tensor<2xi1>
  return %n : tensor<2xi1>
}
