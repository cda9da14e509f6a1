//===- KilnDialect.td - the kiln dialect declaration --------*- tablegen -*-===//
//
// kiln's own dialect: a small canonical op set on statically shaped ranked tensors,
// produced by the frontends and consumed by kernel formation and codegen.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_DIALECT_TD
#define KILN_DIALECT_TD

include "mlir/IR/OpBase.td"

def Kiln_Dialect : Dialect {
  let name = "kiln";
  let cppNamespace = "::kiln";
  let summary = "Canonical tensor ops of the kiln model compiler";
  let description = [{
    The kiln dialect holds a model after import: few, regular ops on ranked tensors with
    static shapes. ONNX-isms (opset differences, Gemm flags, auto_pad, negative axes) are
    resolved by the importer, so passes and codegen see one form per computation.
    Weights are `kiln.constant` ops holding `dense_resource` blobs, never inline attributes.
  }];
  let hasConstantMaterializer = 1;
  let extraClassDeclaration = [{
    /// Bytes of the constants folders built in this context, and the most they may build
    /// (--max-folded-bytes): past it ops stay unfolded and compute at run time, so a tiny
    /// model cannot make the compiler allocate gigabytes (buildFoldedConstant).
    int64_t foldedBytes = 0;
    int64_t maxFoldedBytes = int64_t(2) << 30;
    bool foldingStopped = false;
  }];
}

#endif // KILN_DIALECT_TD
