// RUN: kiln-opt --split-input-file --canonicalize %s | FileCheck %s

// A batched left operand against one matrix is one product of all its rows (PyTorch's
// sequence-first attention projection: 128 tokens of batch 1).
// CHECK-LABEL: func @rows_of_batches
// CHECK: %[[A:.*]] = kiln.reshape %arg0 : (tensor<128x1x16xf32>) -> tensor<128x16xf32>
// CHECK: %[[P:.*]] = kiln.matmul %[[A]], %arg1 : (tensor<128x16xf32>, tensor<16x48xf32>) -> tensor<128x48xf32>
// CHECK: %[[Y:.*]] = kiln.reshape %[[P]] : (tensor<128x48xf32>) -> tensor<128x1x48xf32>
// CHECK: return %[[Y]]
func.func @rows_of_batches(%x: tensor<128x1x16xf32>, %w: tensor<16x48xf32>) -> tensor<128x1x48xf32> {
  %y = kiln.matmul %x, %w : (tensor<128x1x16xf32>, tensor<16x48xf32>) -> tensor<128x1x48xf32>
  return %y : tensor<128x1x48xf32>
}

// -----

// A right operand with unit batch dimensions counts as one matrix.
// CHECK-LABEL: func @unit_batch_rhs
// CHECK: kiln.matmul %{{.*}}, %{{.*}} : (tensor<12x8xf32>, tensor<8x4xf32>) -> tensor<12x4xf32>
func.func @unit_batch_rhs(%x: tensor<2x6x8xf32>, %w: tensor<1x8x4xf32>) -> tensor<2x6x4xf32> {
  %y = kiln.matmul %x, %w : (tensor<2x6x8xf32>, tensor<1x8x4xf32>) -> tensor<2x6x4xf32>
  return %y : tensor<2x6x4xf32>
}

// -----

// Products of many rows each (batch-first tokens), or of batch 1, stay as they are: the
// reshape would part the product from its bias and activation.
// CHECK-LABEL: func @long_products
// CHECK: kiln.matmul %arg0, %arg2 : (tensor<4x128x16xf32>, tensor<16x48xf32>) -> tensor<4x128x48xf32>
// CHECK: kiln.matmul %arg1, %arg2 : (tensor<1x6x16xf32>, tensor<16x48xf32>) -> tensor<1x6x48xf32>
func.func @long_products(%x: tensor<4x128x16xf32>, %u: tensor<1x6x16xf32>, %w: tensor<16x48xf32>) -> (tensor<4x128x48xf32>, tensor<1x6x48xf32>) {
  %y = kiln.matmul %x, %w : (tensor<4x128x16xf32>, tensor<16x48xf32>) -> tensor<4x128x48xf32>
  %z = kiln.matmul %u, %w : (tensor<1x6x16xf32>, tensor<16x48xf32>) -> tensor<1x6x48xf32>
  return %y, %z : tensor<4x128x48xf32>, tensor<1x6x48xf32>
}

// -----

// Batched on both sides (attention scores): left alone.
// CHECK-LABEL: func @batched_both
// CHECK: kiln.matmul %arg0, %arg1 : (tensor<12x128x64xf32>, tensor<12x64x128xf32>) -> tensor<12x128x128xf32>
func.func @batched_both(%q: tensor<12x128x64xf32>, %k: tensor<12x64x128xf32>) -> tensor<12x128x128xf32> {
  %s = kiln.matmul %q, %k : (tensor<12x128x64xf32>, tensor<12x64x128xf32>) -> tensor<12x128x128xf32>
  return %s : tensor<12x128x128xf32>
}
