// RUN: kiln-opt --split-input-file --kiln-plan-memory %s | FileCheck %s

// A chain x -> a -> b -> c: the input lives throughout; a and b are alive together while
// k1 runs, c reuses a's slot once a is dead. 320 bytes is the liveness lower bound
// (a + b + x at k1, each rounded to 64 bytes).
// CHECK-LABEL: func @chain
// CHECK-SAME: kiln.arena_size = 320 : i64
// CHECK-SAME: kiln.arg_offsets = array<i64: 256>
func.func @chain(%x: tensor<16xf32>) -> tensor<16xf32> {
  // CHECK: kiln.kernel "k0"{{.*}}{kiln.arena_offsets = array<i64: 0>}
  %a = kiln.kernel "k0" (%x) : (tensor<16xf32>) -> tensor<32xf32> {
  ^bb0(%i: tensor<16xf32>):
    %r = kiln.concat %i, %i {axis = 0 : i64} : (tensor<16xf32>, tensor<16xf32>) -> tensor<32xf32>
    kiln.yield %r : tensor<32xf32>
  }
  // CHECK: kiln.kernel "k1"{{.*}}{kiln.arena_offsets = array<i64: 128>}
  %b = kiln.kernel "k1" (%a) : (tensor<32xf32>) -> tensor<32xf32> {
  ^bb0(%i: tensor<32xf32>):
    %r = kiln.exp %i : (tensor<32xf32>) -> tensor<32xf32>
    kiln.yield %r : tensor<32xf32>
  }
  // CHECK: kiln.kernel "k2"{{.*}}{kiln.arena_offsets = array<i64: 0>}
  %c = kiln.kernel "k2" (%b) : (tensor<32xf32>) -> tensor<16xf32> {
  ^bb0(%i: tensor<32xf32>):
    %r = kiln.slice %i {starts = array<i64: 0>, steps = array<i64: 2>} : (tensor<32xf32>) -> tensor<16xf32>
    kiln.yield %r : tensor<16xf32>
  }
  return %c : tensor<16xf32>
}

// -----

// A reshape is a view: it shares its input's offset and keeps it alive.
// CHECK-LABEL: func @view
func.func @view(%x: tensor<4x4xf32>) -> tensor<16xf32> {
  // CHECK: kiln.kernel "k0"{{.*}}{kiln.arena_offsets = array<i64: [[OFF:[0-9]+]]>}
  %a = kiln.kernel "k0" (%x) : (tensor<4x4xf32>) -> tensor<4x4xf32> {
  ^bb0(%i: tensor<4x4xf32>):
    %r = kiln.exp %i : (tensor<4x4xf32>) -> tensor<4x4xf32>
    kiln.yield %r : tensor<4x4xf32>
  }
  // CHECK: kiln.reshape {{.*}}{kiln.arena_offsets = array<i64: [[OFF]]>}
  %v = kiln.reshape %a : (tensor<4x4xf32>) -> tensor<16xf32>
  return %v : tensor<16xf32>
}

// -----

// A kiln.if: its result's buffer is born at the if, and the kernel that each branch yields
// writes it directly (k1 and k3 at the result's offset). Only one branch runs, so the then
// branch's temporary (k0, 64 bytes) and the else branch's (k2, 128 bytes) share memory:
// 320 bytes = the else branch's peak (k2 + result + both arguments).
// CHECK-LABEL: func @if_buffers
// CHECK-SAME: kiln.arena_size = 320 : i64
// CHECK-SAME: kiln.result_offsets = array<i64: [[R:[0-9]+]]>
// CHECK: kiln.if {{.*}} {kiln.arena_offsets = array<i64: [[R]]>}
// CHECK: kiln.kernel "k0"{{.*}}{kiln.arena_offsets = array<i64: [[T:[0-9]+]]>}
// CHECK: kiln.kernel "k1"{{.*}}{kiln.arena_offsets = array<i64: [[R]]>}
// CHECK: kiln.kernel "k2"{{.*}}{kiln.arena_offsets = array<i64: [[T]]>}
// CHECK: kiln.kernel "k3"{{.*}}{kiln.arena_offsets = array<i64: [[R]]>}
func.func @if_buffers(%c: tensor<i1>, %x: tensor<16xf32>) -> tensor<16xf32> {
  %r = kiln.if %c : tensor<i1> -> tensor<16xf32> {
    %a = kiln.kernel "k0" (%x) : (tensor<16xf32>) -> tensor<16xf32> {
    ^bb0(%i: tensor<16xf32>):
      %v = kiln.exp %i : (tensor<16xf32>) -> tensor<16xf32>
      kiln.yield %v : tensor<16xf32>
    }
    %b = kiln.kernel "k1" (%a) : (tensor<16xf32>) -> tensor<16xf32> {
    ^bb0(%i: tensor<16xf32>):
      %v = kiln.neg %i : (tensor<16xf32>) -> tensor<16xf32>
      kiln.yield %v : tensor<16xf32>
    }
    kiln.yield %b : tensor<16xf32>
  } else {
    %d = kiln.kernel "k2" (%x) : (tensor<16xf32>) -> tensor<32xf32> {
    ^bb0(%i: tensor<16xf32>):
      %v = kiln.concat %i, %i {axis = 0 : i64} : (tensor<16xf32>, tensor<16xf32>) -> tensor<32xf32>
      kiln.yield %v : tensor<32xf32>
    }
    %e = kiln.kernel "k3" (%d) : (tensor<32xf32>) -> tensor<16xf32> {
    ^bb0(%i: tensor<32xf32>):
      %v = kiln.slice %i {starts = array<i64: 0>, steps = array<i64: 2>} : (tensor<32xf32>) -> tensor<16xf32>
      kiln.yield %v : tensor<16xf32>
    }
    kiln.yield %e : tensor<16xf32>
  }
  return %r : tensor<16xf32>
}
