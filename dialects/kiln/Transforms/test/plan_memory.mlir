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

// -----

// A kiln.loop: its state (k2's result) is made by the kernel that writes the initial value,
// written again by the body's k4 and read as the loop's result (one offset S); its
// condition is k1's buffer and its iteration number has a buffer of its own. %o (k0), made
// before the loop and read in the body, stays alive through the loop: the body's temporary
// (k3) does not take its place. 512 bytes: the trip count, x, o, the condition, the state,
// the iteration number (64 each) and k3's 128.
// CHECK-LABEL: func @loop_buffers
// CHECK-SAME: kiln.arena_size = 512 : i64
// CHECK: kiln.kernel "k0"{{.*}}{kiln.arena_offsets = array<i64: [[O:[0-9]+]]>}
// CHECK: kiln.kernel "k1"{{.*}}{kiln.arena_offsets = array<i64: [[C:[0-9]+]]>}
// CHECK: kiln.kernel "k2"{{.*}}{kiln.arena_offsets = array<i64: [[S:[0-9]+]]>}
// CHECK: kiln.loop {{.*}}kiln.arena_offsets = array<i64: [[S]]>, kiln.loop_offsets = array<i64: {{[0-9]+}}, [[C]]>
// CHECK: kiln.kernel "k3"{{.*}}{kiln.arena_offsets = array<i64: [[T:[0-9]+]]>}
// CHECK-NOT: array<i64: [[O]]>
// CHECK: kiln.kernel "k4"{{.*}}{kiln.arena_offsets = array<i64: [[S]]>}
func.func @loop_buffers(%m: tensor<i64>, %x: tensor<16xf32>) -> tensor<16xf32> {
  %o = kiln.kernel "k0" (%x) : (tensor<16xf32>) -> tensor<16xf32> {
  ^bb0(%i: tensor<16xf32>):
    %v = kiln.exp %i : (tensor<16xf32>) -> tensor<16xf32>
    kiln.yield %v : tensor<16xf32>
  }
  %c = kiln.kernel "k1" () : () -> tensor<i1> {
    %v = kiln.constant dense<true> : tensor<i1>
    kiln.yield %v : tensor<i1>
  }
  %s0 = kiln.kernel "k2" (%x) : (tensor<16xf32>) -> tensor<16xf32> {
  ^bb0(%i: tensor<16xf32>):
    %v = kiln.neg %i : (tensor<16xf32>) -> tensor<16xf32>
    kiln.yield %v : tensor<16xf32>
  }
  %r = kiln.loop %m, %c, %s0 {max_iterations = 10 : i64} : (tensor<i64>, tensor<i1>, tensor<16xf32>) -> tensor<16xf32> {
  ^bb0(%it: tensor<i64>, %cond: tensor<i1>, %s: tensor<16xf32>):
    %t = kiln.kernel "k3" (%s, %o) : (tensor<16xf32>, tensor<16xf32>) -> tensor<32xf32> {
    ^bb0(%a: tensor<16xf32>, %b: tensor<16xf32>):
      %v = kiln.concat %a, %b {axis = 0 : i64} : (tensor<16xf32>, tensor<16xf32>) -> tensor<32xf32>
      kiln.yield %v : tensor<32xf32>
    }
    %n = kiln.kernel "k4" (%t) : (tensor<32xf32>) -> tensor<16xf32> {
    ^bb0(%a: tensor<32xf32>):
      %v = kiln.slice %a {starts = array<i64: 0>, steps = array<i64: 2>} : (tensor<32xf32>) -> tensor<16xf32>
      kiln.yield %v : tensor<16xf32>
    }
    kiln.yield %cond, %n : tensor<i1>, tensor<16xf32>
  }
  %y = kiln.kernel "k5" (%r) : (tensor<16xf32>) -> tensor<16xf32> {
  ^bb0(%a: tensor<16xf32>):
    %v = kiln.exp %a : (tensor<16xf32>) -> tensor<16xf32>
    kiln.yield %v : tensor<16xf32>
  }
  return %y : tensor<16xf32>
}
