// RUN: kiln-opt --split-input-file --kiln-pack-matmul-weights %s | FileCheck %s
// RUN: kiln-opt --split-input-file --kiln-pack-matmul-weights=strip=8 %s \
// RUN:   | FileCheck --check-prefix=STRIP8 %s

// A [K=2, N=32] weight read by a 2-row matmul is stored [N/16, K, 16]: column n of row k at
// [n / 16, k, n % 16]. With w[k, n] = 32 k + n, strip 0 holds row 0's columns 0..15
// (0 ... 15) then row 1's (32 ... 47).
// CHECK-LABEL: func @strips
// CHECK: %[[P:.*]] = kiln.constant {kiln.name = "mm_w"} dense_resource<mm_w.strips> : tensor<2x2x16xf32>
// CHECK: %[[W:.*]] = kiln.from_strips %[[P]] {axis = 1 : i64, width = 16 : i64} : (tensor<2x2x16xf32>) -> tensor<2x32xf32>
// CHECK: kiln.matmul %{{.*}}, %[[W]]
// CHECK: kiln.matmul %{{.*}}, %[[W]]
// CHECK-NOT: kiln.constant
// CHECK: mm_w.strips: "0x4000000000000000
// CHECK-SAME: 0000704100000042
// A backend with 8-lane vectors asks for strips of 8: [N/8, K, 8].
// STRIP8-LABEL: func @strips
// STRIP8: kiln.from_strips %{{.*}} {axis = 1 : i64, width = 8 : i64} : (tensor<4x2x8xf32>) -> tensor<2x32xf32>
func.func @strips(%x: tensor<2x2xf32>, %y: tensor<3x2xf32>) -> (tensor<2x32xf32>, tensor<3x32xf32>) {
  %w = kiln.constant dense_resource<mm_w> : tensor<2x32xf32>
  %0 = kiln.matmul %x, %w : (tensor<2x2xf32>, tensor<2x32xf32>) -> tensor<2x32xf32>
  %1 = kiln.matmul %y, %w : (tensor<3x2xf32>, tensor<2x32xf32>) -> tensor<3x32xf32>
  return %0, %1 : tensor<2x32xf32>, tensor<3x32xf32>
}
{-#
  dialect_resources: {
    builtin: {
      mm_w: "0x04000000000000000000803F0000004000004040000080400000A0400000C0400000E0400000004100001041000020410000304100004041000050410000604100007041000080410000884100009041000098410000A0410000A8410000B0410000B8410000C0410000C8410000D0410000D8410000E0410000E8410000F0410000F84100000042000004420000084200000C4200001042000014420000184200001C4200002042000024420000284200002C4200003042000034420000384200003C4200004042000044420000484200004C4200005042000054420000584200005C4200006042000064420000684200006C4200007042000074420000784200007C42"
    }
  }
#-}

// -----

// A width that is not a multiple of 32 is padded with zero columns to whole 32-column
// tiles; a batch-1 row (GEMV) and a runtime weight are left alone.
// CHECK-LABEL: func @kept
// CHECK: kiln.from_strips %{{.*}} {axis = 1 : i64, width = 16 : i64} : (tensor<4x2x16xf32>) -> tensor<2x40xf32>
// CHECK-NOT: kiln.from_strips
// STRIP8-LABEL: func @kept
// STRIP8: kiln.from_strips %{{.*}} {axis = 1 : i64, width = 8 : i64} : (tensor<6x2x8xf32>) -> tensor<2x40xf32>
func.func @kept(%x: tensor<1x2xf32>, %y: tensor<2x2xf32>, %v: tensor<2x32xf32>) -> (tensor<1x32xf32>, tensor<2x40xf32>, tensor<2x32xf32>) {
  %w = kiln.constant dense<1.0> : tensor<2x32xf32>
  %n = kiln.constant dense<1.0> : tensor<2x40xf32>
  %0 = kiln.matmul %x, %w : (tensor<1x2xf32>, tensor<2x32xf32>) -> tensor<1x32xf32>
  %1 = kiln.matmul %y, %n : (tensor<2x2xf32>, tensor<2x40xf32>) -> tensor<2x40xf32>
  %2 = kiln.matmul %y, %v : (tensor<2x2xf32>, tensor<2x32xf32>) -> tensor<2x32xf32>
  return %0, %1, %2 : tensor<1x32xf32>, tensor<2x40xf32>, tensor<2x32xf32>
}
