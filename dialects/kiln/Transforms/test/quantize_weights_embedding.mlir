// RUN: kiln-opt --kiln-quantize-weights="format=q4_0" %s | FileCheck %s

// An embedding table [entries, width] is quantized one row per entry, also when it is the
// first quantizable layer: the default keeps only the first and last matmul or conv in float.
// (16384 weights: not a small layer, which would take q8_0.)
// CHECK-LABEL: func @embedding
// CHECK: %[[Q:.*]] = kiln.constant {kiln.ggml_dims = array<i64: 256, 64>, kiln.ggml_type = 2 : i64, kiln.name = "weight"} dense_resource<weight> : tensor<256x36xui8>
// CHECK: %[[T:.*]] = kiln.dequantize %[[Q]] {format = "q4_0", row_axis = 0 : i64, row_length = 64 : i64} : (tensor<256x36xui8>) -> tensor<256x64xf32>
// CHECK: kiln.gather %[[T]], %{{.*}} {axis = 0 : i64}
// The only matmul is both the first and the last: it stays float.
// CHECK: kiln.matmul %{{.*}}, %{{.*}} : (tensor<2x64xf32>, tensor<64x64xf32>)
// CHECK-NOT: kiln.dequantize
func.func @embedding(%ids: tensor<2xi64>) -> tensor<2x64xf32> {
  %t = kiln.constant dense<0.5> : tensor<256x64xf32>
  %w = kiln.constant dense<0.25> : tensor<64x64xf32>
  %e = kiln.gather %t, %ids {axis = 0 : i64} : (tensor<256x64xf32>, tensor<2xi64>) -> tensor<2x64xf32>
  %y = kiln.matmul %e, %w : (tensor<2x64xf32>, tensor<64x64xf32>) -> tensor<2x64xf32>
  return %y : tensor<2x64xf32>
}
