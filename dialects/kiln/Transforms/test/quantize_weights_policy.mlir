// RUN: kiln-opt --kiln-quantize-weights="format=q4_0 keep-ends=false" %s | FileCheck %s
// RUN: kiln-opt --kiln-quantize-weights="format=q4_0 keep-ends=false uniform=true" %s | FileCheck %s --check-prefix=UNIFORM
// RUN: kiln-opt --kiln-quantize-weights="format=q8_0 keep-ends=false" %s | FileCheck %s --check-prefix=Q8

// Under a 4-bit format, a layer that writes into a residual stream (its output, through a
// bias add, is an operand of an add of two computed tensors) and a layer of fewer than 8192
// weights take q8_0; other layers keep the format. `uniform` turns the rule off.
// CHECK-LABEL: func @block
// CHECK: kiln.dequantize %{{.*}} {format = "q4_0", row_axis = 1 : i64, row_length = 64 : i64} : (tensor<128x36xui8>) -> tensor<64x128xf32>
// CHECK: kiln.dequantize %{{.*}} {format = "q8_0", row_axis = 1 : i64, row_length = 128 : i64} : (tensor<64x136xui8>) -> tensor<128x64xf32>
// CHECK: kiln.dequantize %{{.*}} {format = "q8_0", row_axis = 1 : i64, row_length = 64 : i64} : (tensor<16x68xui8>) -> tensor<64x16xf32>
// UNIFORM-LABEL: func @block
// UNIFORM-COUNT-3: format = "q4_0"
// UNIFORM-NOT: format = "q8_0"
// Q8-LABEL: func @block
// Q8-COUNT-3: format = "q8_0"
func.func @block(%x: tensor<1x64xf32>) -> (tensor<1x64xf32>, tensor<1x16xf32>) {
  %w1 = kiln.constant dense<0.5> : tensor<64x128xf32>
  %w2 = kiln.constant dense<0.25> : tensor<128x64xf32>
  %b2 = kiln.constant dense<0.125> : tensor<64xf32>
  %w3 = kiln.constant dense<0.75> : tensor<64x16xf32>
  // 8192 weights followed by an activation: stays q4_0.
  %h = kiln.matmul %x, %w1 : (tensor<1x64xf32>, tensor<64x128xf32>) -> tensor<1x128xf32>
  %r = kiln.relu %h : (tensor<1x128xf32>) -> tensor<1x128xf32>
  // Writes into the residual stream through its bias add: q8_0.
  %y = kiln.matmul %r, %w2 : (tensor<1x128xf32>, tensor<128x64xf32>) -> tensor<1x64xf32>
  %yb = kiln.add %y, %b2 : (tensor<1x64xf32>, tensor<64xf32>) -> tensor<1x64xf32>
  %s = kiln.add %yb, %x : (tensor<1x64xf32>, tensor<1x64xf32>) -> tensor<1x64xf32>
  // 1024 weights: q8_0.
  %z = kiln.matmul %s, %w3 : (tensor<1x64xf32>, tensor<64x16xf32>) -> tensor<1x16xf32>
  return %s, %z : tensor<1x64xf32>, tensor<1x16xf32>
}
