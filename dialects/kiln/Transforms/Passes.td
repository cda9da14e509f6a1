//===- Passes.td - kiln pass declarations -------------------*- tablegen -*-===//
//
// Every kiln pass is declared here; each lives in its own .cpp named after it.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_TRANSFORMS_PASSES_TD
#define KILN_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

//===----------------------------------------------------------------------===//
// Kernel formation
//===----------------------------------------------------------------------===//

def FormKernelsPass : Pass<"kiln-form-kernels", "mlir::func::FuncOp"> {
  let summary = "Groups ops into kiln.kernel regions, fusing elementwise chains";
  let description = [{
    Every compute op starts a kernel. An elementwise op (unary, binary, clip, cast...) joins
    the kernel of the operand whose shape equals its result, unless that would create a
    cycle between kernels; its other operands become kernel inputs. Values used outside
    their kernel become kernel results. Reshapes stay outside kernels: they are views.

    Before:
    ```mlir
    %c = kiln.conv %x, %w ...
    %r = kiln.relu %c ...
    ```
    After:
    ```mlir
    %r = kiln.kernel "k0_conv_relu" (%x, %w) ... {
      %c = kiln.conv ...
      %r = kiln.relu %c ...
      kiln.yield %r
    }
    ```
  }];
  let dependentDialects = ["::kiln::KilnDialect"];
}

//===----------------------------------------------------------------------===//
// Memory planning
//===----------------------------------------------------------------------===//

def PlanMemoryPass : Pass<"kiln-plan-memory", "mlir::func::FuncOp"> {
  let summary = "Assigns every intermediate tensor an offset in one arena";
  let description = [{
    Computes each buffer's live range over the kernel sequence (function arguments live
    from the start, returned values to the end, reshapes alias their input) and places
    buffers by decreasing size at the lowest offset that does not overlap a buffer alive
    at the same time. Writes `kiln.arena_offsets` on each kernel, `kiln.arg_offsets` and
    `kiln.result_offsets` on the function, and `kiln.arena_size` on the function.
  }];
  let options = [
    Option<"alignment", "alignment", "int64_t", /*default=*/"64",
           "Byte alignment of every buffer">
  ];
}

#endif // KILN_TRANSFORMS_PASSES_TD
