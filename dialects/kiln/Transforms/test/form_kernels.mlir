// RUN: kiln-opt --split-input-file --kiln-form-kernels %s | FileCheck %s

// A conv and the elementwise chain after it (hard_swish: x * hard_sigmoid(x)) become one
// kernel; the weight stays an input, the scalar constant is cloned inside.
// CHECK-LABEL: func @conv_hard_swish
func.func @conv_hard_swish(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x1x1xf32>) -> tensor<1x4x8x8xf32> {
  // CHECK: %[[K:.*]] = kiln.kernel "k0_conv_hard_sigmoid_mul" (%{{.*}}, %{{.*}}) : (tensor<1x3x8x8xf32>, tensor<4x3x1x1xf32>) -> tensor<1x4x8x8xf32>
  // CHECK:   kiln.conv
  // CHECK:   kiln.hard_sigmoid
  // CHECK:   kiln.mul
  // CHECK:   kiln.constant dense<2.000000e+00>
  // CHECK:   kiln.add
  // CHECK:   kiln.yield
  // CHECK: return %[[K]]
  %c = kiln.conv %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x3x8x8xf32>, tensor<4x3x1x1xf32>) -> tensor<1x4x8x8xf32>
  %h = kiln.hard_sigmoid %c {alpha = 0.1666 : f64, beta = 0.5 : f64} : (tensor<1x4x8x8xf32>) -> tensor<1x4x8x8xf32>
  %m = kiln.mul %c, %h : (tensor<1x4x8x8xf32>, tensor<1x4x8x8xf32>) -> tensor<1x4x8x8xf32>
  %two = kiln.constant dense<2.0> : tensor<f32>
  %a = kiln.add %m, %two : (tensor<1x4x8x8xf32>, tensor<f32>) -> tensor<1x4x8x8xf32>
  return %a : tensor<1x4x8x8xf32>
}

// -----

// A value used outside its kernel becomes a second result; a reshape stays outside kernels.
// CHECK-LABEL: func @shared_value
func.func @shared_value(%x: tensor<1x4xf32>) -> (tensor<1x4xf32>, tensor<4xf32>) {
  // CHECK: %[[K:.*]]:2 = kiln.kernel "k0_relu_exp" (%{{.*}}) : (tensor<1x4xf32>) -> (tensor<1x4xf32>, tensor<1x4xf32>)
  // CHECK: %[[R:.*]] = kiln.reshape %[[K]]#0
  // CHECK: return %[[K]]#1, %[[R]]
  %r = kiln.relu %x : (tensor<1x4xf32>) -> tensor<1x4xf32>
  %e = kiln.exp %r : (tensor<1x4xf32>) -> tensor<1x4xf32>
  %s = kiln.reshape %r : (tensor<1x4xf32>) -> tensor<4xf32>
  return %e, %s : tensor<1x4xf32>, tensor<4xf32>
}

// -----

// Joining the add into the first conv's kernel would make the two kernels depend on each
// other (k0 -> k1 -> k0), so the add joins the second conv's kernel instead.
// CHECK-LABEL: func @no_cycle
func.func @no_cycle(%x: tensor<1x2x4x4xf32>, %w: tensor<2x2x1x1xf32>) -> tensor<1x2x4x4xf32> {
  // CHECK: %[[A:.*]]:2 = kiln.kernel "k0_conv_sigmoid"
  // CHECK: %[[B:.*]] = kiln.kernel "k1_conv_add" (%[[A]]#1, %{{.*}}, %[[A]]#0)
  // CHECK: return %[[B]]
  %c1 = kiln.conv %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x2x4x4xf32>, tensor<2x2x1x1xf32>) -> tensor<1x2x4x4xf32>
  %s = kiln.sigmoid %c1 : (tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
  %c2 = kiln.conv %s, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x2x4x4xf32>, tensor<2x2x1x1xf32>) -> tensor<1x2x4x4xf32>
  %a = kiln.add %c1, %c2 : (tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
  return %a : tensor<1x2x4x4xf32>
}

// -----

// A broadcasting op joins the operand whose shape equals its result (SE block scale).
// CHECK-LABEL: func @broadcast_join
func.func @broadcast_join(%x: tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32> {
  // CHECK: %[[G:.*]] = kiln.kernel "k0_reduce"
  // CHECK: kiln.kernel "k1_exp_mul" (%{{.*}}, %[[G]])
  %e = kiln.exp %x : (tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
  %g = kiln.reduce %x {kind = "mean", axes = array<i64: 2, 3>} : (tensor<1x2x4x4xf32>) -> tensor<1x2x1x1xf32>
  %m = kiln.mul %e, %g : (tensor<1x2x4x4xf32>, tensor<1x2x1x1xf32>) -> tensor<1x2x4x4xf32>
  return %m : tensor<1x2x4x4xf32>
}

// -----

// A residual add joins the kernel of a convolution whose weight is packed in strips (a
// narrow map vectorized across output channels): the strip view is cloned in, the residual
// becomes a kernel input.
// CHECK-LABEL: func @residual_into_packed_conv
func.func @residual_into_packed_conv(%x: tensor<1x32x7x7xf32>, %r: tensor<1x16x7x7xf32>) -> tensor<1x16x7x7xf32> {
  // CHECK: %[[K:.*]] = kiln.kernel "k0_conv_add" ({{.*}}) : (tensor<1x32x7x7xf32>, tensor<1x32x1x1x16xf32>, tensor<1x16x7x7xf32>) -> tensor<1x16x7x7xf32>
  // CHECK:   kiln.from_strips
  // CHECK:   kiln.conv
  // CHECK:   kiln.add
  // CHECK: return %[[K]]
  %p = kiln.constant dense<0.5> : tensor<1x32x1x1x16xf32>
  %w = kiln.from_strips %p {width = 16 : i64} : (tensor<1x32x1x1x16xf32>) -> tensor<16x32x1x1xf32>
  %c = kiln.conv %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x32x7x7xf32>, tensor<16x32x1x1xf32>) -> tensor<1x16x7x7xf32>
  %a = kiln.add %c, %r : (tensor<1x16x7x7xf32>, tensor<1x16x7x7xf32>) -> tensor<1x16x7x7xf32>
  return %a : tensor<1x16x7x7xf32>
}

// -----

// An elementwise chain longer than max-depth continues in a new kernel: with max-depth=2,
// four chained ops become two kernels of two.
// RUN: kiln-opt --split-input-file --kiln-form-kernels=max-depth=2 %s | FileCheck --check-prefix=DEPTH %s
// DEPTH-LABEL: func @deep_chain
// DEPTH: %[[A:.*]] = kiln.kernel "k0_neg_abs"
// DEPTH: kiln.kernel "k1_exp_sqrt" (%[[A]])
// DEPTH-NOT: kiln.kernel
// DEPTH: func @if_branches
func.func @deep_chain(%x: tensor<4xf32>) -> tensor<4xf32> {
  %a = kiln.neg %x : (tensor<4xf32>) -> tensor<4xf32>
  %b = kiln.abs %a : (tensor<4xf32>) -> tensor<4xf32>
  %c = kiln.exp %b : (tensor<4xf32>) -> tensor<4xf32>
  %d = kiln.sqrt %c : (tensor<4xf32>) -> tensor<4xf32>
  return %d : tensor<4xf32>
}

// -----

// A kiln.if stays outside kernels; each branch gets kernels of its own. Work before the if
// that a branch reads (the exp) comes before it; work on its results comes after. A
// branch yields into the if's result buffers, so what it yields must be its own kernels'
// results, each once: the pass-through %x and the second %n are copied by kernels.
// CHECK-LABEL: func @if_branches
// CHECK: %[[E:.*]] = kiln.kernel "k0_exp"
// CHECK: %[[G:.*]] = kiln.kernel "k2_compare"
// CHECK: %[[R:.*]]:3 = kiln.if %[[G]]
// CHECK-NEXT: %[[T:.*]]:2 = kiln.kernel "k{{[0-9]+}}_mul_relu" (%[[E]])
// CHECK: %[[C:.*]] = kiln.kernel "k{{[0-9]+}}_copy" (%arg0)
// CHECK: kiln.yield %[[T]]#0, %[[C]], %[[T]]#1
// CHECK: } else {
// CHECK: %[[N:.*]] = kiln.kernel "k{{[0-9]+}}_neg" (%arg0)
// CHECK: %[[A:.*]] = kiln.kernel "k{{[0-9]+}}_abs" (%arg0)
// CHECK: %[[N2:.*]] = kiln.kernel "k{{[0-9]+}}_copy" (%[[N]])
// CHECK: kiln.yield %[[N]], %[[N2]], %[[A]]
// CHECK: kiln.kernel "k{{[0-9]+}}_add" (%[[R]]#0, %[[R]]#1)
func.func @if_branches(%x: tensor<4xf32>, %t: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) {
  %e = kiln.exp %x : (tensor<4xf32>) -> tensor<4xf32>
  %zero = kiln.constant dense<0.0> : tensor<f32>
  %s = kiln.reduce %t {kind = "sum", axes = array<i64: 0>} : (tensor<4xf32>) -> tensor<f32>
  %g = kiln.compare %s, %zero {predicate = "gt"} : (tensor<f32>, tensor<f32>) -> tensor<i1>
  %r:3 = kiln.if %g : tensor<i1> -> tensor<4xf32>, tensor<4xf32>, tensor<4xf32> {
    %m = kiln.mul %e, %e : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
    %k = kiln.relu %m : (tensor<4xf32>) -> tensor<4xf32>
    kiln.yield %m, %x, %k : tensor<4xf32>, tensor<4xf32>, tensor<4xf32>
  } else {
    %n = kiln.neg %x : (tensor<4xf32>) -> tensor<4xf32>
    %a = kiln.abs %x : (tensor<4xf32>) -> tensor<4xf32>
    kiln.yield %n, %n, %a : tensor<4xf32>, tensor<4xf32>, tensor<4xf32>
  }
  %y = kiln.add %r#0, %r#1 : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  return %y, %r#1, %r#2 : tensor<4xf32>, tensor<4xf32>, tensor<4xf32>
}

// -----

// A kiln.loop stays outside kernels; its body gets kernels of its own. Its states (the
// condition, the carried values) are written before it by a kernel that only the loop
// reads (k0_neg), else by a copy (the argument %x, twice; the constant condition). In the
// body, the exp reads no state, so it writes its state directly; the condition passes
// through unchanged; the swapped states are copied through fresh buffers first, so neither
// overwrites the other before it is read.
// CHECK-LABEL: func @loop_states
// CHECK: %[[A0:.*]] = kiln.kernel "k0_neg"
// CHECK: %[[C:.*]] = kiln.kernel "k1_constant"
// CHECK: %[[X1:.*]] = kiln.kernel "k2_copy" (%arg1)
// CHECK: %[[X2:.*]] = kiln.kernel "k3_copy" (%arg1)
// CHECK: kiln.loop %arg0, %[[C]], %[[X1]], %[[A0]], %[[X2]]
// CHECK-NEXT: ^bb0(%{{.*}}: tensor<i64>, %[[COND:.*]]: tensor<i1>, %{{.*}}: tensor<4xf32>, %[[A:.*]]: tensor<4xf32>, %[[B:.*]]: tensor<4xf32>):
// CHECK: %[[E:.*]] = kiln.kernel "k{{[0-9]+}}_exp" (%arg1)
// CHECK: %[[TB:.*]] = kiln.kernel "k{{[0-9]+}}_copy" (%[[B]])
// CHECK: %[[TA:.*]] = kiln.kernel "k{{[0-9]+}}_copy" (%[[A]])
// CHECK: %[[NA:.*]] = kiln.kernel "k{{[0-9]+}}_copy" (%[[TB]])
// CHECK: %[[NB:.*]] = kiln.kernel "k{{[0-9]+}}_copy" (%[[TA]])
// CHECK: kiln.yield %[[COND]], %[[E]], %[[NA]], %[[NB]]
func.func @loop_states(%m: tensor<i64>, %x: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) {
  %c = kiln.constant dense<true> : tensor<i1>
  %a0 = kiln.neg %x : (tensor<4xf32>) -> tensor<4xf32>
  %r:3 = kiln.loop %m, %c, %x, %a0, %x {max_iterations = 100 : i64} : (tensor<i64>, tensor<i1>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) {
  ^bb0(%i: tensor<i64>, %cond: tensor<i1>, %s: tensor<4xf32>, %a: tensor<4xf32>, %b: tensor<4xf32>):
    %e = kiln.exp %x : (tensor<4xf32>) -> tensor<4xf32>
    kiln.yield %cond, %e, %b, %a : tensor<i1>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>
  }
  return %r#0, %r#1, %r#2 : tensor<4xf32>, tensor<4xf32>, tensor<4xf32>
}
