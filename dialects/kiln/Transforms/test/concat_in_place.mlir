// RUN: kiln-opt --split-input-file --kiln-concat-in-place %s | FileCheck %s
// RUN: kiln-opt --split-input-file --kiln-concat-in-place --kiln-plan-memory %s \
// RUN:   | FileCheck --check-prefix=PLAN %s

// Two kernel results, one through a reshape view, concatenated along channels: the copy
// kernel becomes a view, and the producers' buffers are its slices (a at 0, b's reshape
// and b 128 bytes = 2x4x4 floats further).
// CHECK-LABEL: func @slices
// CHECK-NOT:   kiln.kernel "k2_concat"
// CHECK:       %[[C:.*]] = kiln.concat %{{.*}}, %{{.*}} {axis = 1 : i64, kiln.in_place, kiln.kernel_name = "k2_concat"}
// CHECK:       kiln.kernel "k3" (%[[C]])
// PLAN-LABEL: func @slices
// PLAN:       kiln.kernel "k0"{{.*}}{kiln.arena_offsets = array<i64: [[BASE:[0-9]+]]>}
// PLAN:       kiln.kernel "k1"{{.*}}{kiln.arena_offsets = array<i64: [[B:[0-9]+]]>}
// PLAN:       kiln.reshape {{.*}}{kiln.arena_offsets = array<i64: [[B]]>}
// PLAN:       kiln.concat {{.*}}kiln.arena_offsets = array<i64: [[BASE]]>
func.func @slices(%x: tensor<1x2x4x4xf32>) -> tensor<1x4x4x4xf32> {
  %a = kiln.kernel "k0" (%x) : (tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32> {
  ^bb0(%i: tensor<1x2x4x4xf32>):
    %r = kiln.exp %i : (tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
    kiln.yield %r : tensor<1x2x4x4xf32>
  }
  %b = kiln.kernel "k1" (%x) : (tensor<1x2x4x4xf32>) -> tensor<1x2x1x16xf32> {
  ^bb0(%i: tensor<1x2x4x4xf32>):
    %e = kiln.exp %i : (tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
    %r = kiln.reshape %e : (tensor<1x2x4x4xf32>) -> tensor<1x2x1x16xf32>
    kiln.yield %r : tensor<1x2x1x16xf32>
  }
  %bv = kiln.reshape %b : (tensor<1x2x1x16xf32>) -> tensor<1x2x4x4xf32>
  %c = kiln.kernel "k2_concat" (%a, %bv) : (tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>) -> tensor<1x4x4x4xf32> {
  ^bb0(%i: tensor<1x2x4x4xf32>, %j: tensor<1x2x4x4xf32>):
    %r = kiln.concat %i, %j {axis = 1 : i64} : (tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>) -> tensor<1x4x4x4xf32>
    kiln.yield %r : tensor<1x4x4x4xf32>
  }
  %d = kiln.kernel "k3" (%c) : (tensor<1x4x4x4xf32>) -> tensor<1x4x4x4xf32> {
  ^bb0(%i: tensor<1x4x4x4xf32>):
    %r = kiln.exp %i : (tensor<1x4x4x4xf32>) -> tensor<1x4x4x4xf32>
    kiln.yield %r : tensor<1x4x4x4xf32>
  }
  return %d : tensor<1x4x4x4xf32>
}

// -----

// What stays a copy: an input that is the function's argument; slices that would be strided
// (batch 2 along channels); a kernel result already placed in another concatenation.
// CHECK-LABEL: func @copies
// CHECK:       kiln.kernel "k1_concat"
// CHECK:       kiln.kernel "k2_concat"
// CHECK:       kiln.concat %{{.*}}, %{{.*}} {axis = 0 : i64, kiln.in_place, kiln.kernel_name = "k3_concat"}
// CHECK:       kiln.kernel "k4_concat"
func.func @copies(%x: tensor<2x2xf32>) -> (tensor<2x4xf32>, tensor<2x4xf32>, tensor<4x2xf32>, tensor<4x2xf32>) {
  %a = kiln.kernel "k0" (%x) : (tensor<2x2xf32>) -> tensor<2x2xf32> {
  ^bb0(%i: tensor<2x2xf32>):
    %r = kiln.exp %i : (tensor<2x2xf32>) -> tensor<2x2xf32>
    kiln.yield %r : tensor<2x2xf32>
  }
  %c1 = kiln.kernel "k1_concat" (%a, %x) : (tensor<2x2xf32>, tensor<2x2xf32>) -> tensor<2x4xf32> {
  ^bb0(%i: tensor<2x2xf32>, %j: tensor<2x2xf32>):
    %r = kiln.concat %i, %j {axis = 1 : i64} : (tensor<2x2xf32>, tensor<2x2xf32>) -> tensor<2x4xf32>
    kiln.yield %r : tensor<2x4xf32>
  }
  %b = kiln.kernel "k5" (%x) : (tensor<2x2xf32>) -> tensor<2x2xf32> {
  ^bb0(%i: tensor<2x2xf32>):
    %r = kiln.exp %i : (tensor<2x2xf32>) -> tensor<2x2xf32>
    kiln.yield %r : tensor<2x2xf32>
  }
  %c2 = kiln.kernel "k2_concat" (%a, %b) : (tensor<2x2xf32>, tensor<2x2xf32>) -> tensor<2x4xf32> {
  ^bb0(%i: tensor<2x2xf32>, %j: tensor<2x2xf32>):
    %r = kiln.concat %i, %j {axis = 1 : i64} : (tensor<2x2xf32>, tensor<2x2xf32>) -> tensor<2x4xf32>
    kiln.yield %r : tensor<2x4xf32>
  }
  %c3 = kiln.kernel "k3_concat" (%a, %b) : (tensor<2x2xf32>, tensor<2x2xf32>) -> tensor<4x2xf32> {
  ^bb0(%i: tensor<2x2xf32>, %j: tensor<2x2xf32>):
    %r = kiln.concat %i, %j {axis = 0 : i64} : (tensor<2x2xf32>, tensor<2x2xf32>) -> tensor<4x2xf32>
    kiln.yield %r : tensor<4x2xf32>
  }
  %c4 = kiln.kernel "k4_concat" (%b, %a) : (tensor<2x2xf32>, tensor<2x2xf32>) -> tensor<4x2xf32> {
  ^bb0(%i: tensor<2x2xf32>, %j: tensor<2x2xf32>):
    %r = kiln.concat %i, %j {axis = 0 : i64} : (tensor<2x2xf32>, tensor<2x2xf32>) -> tensor<4x2xf32>
    kiln.yield %r : tensor<4x2xf32>
  }
  return %c1, %c2, %c3, %c4 : tensor<2x4xf32>, tensor<2x4xf32>, tensor<4x2xf32>, tensor<4x2xf32>
}
