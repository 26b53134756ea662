//===- Passes.td - attnc target passes ---------------------*- tablegen -*-===//
//
// Passes of the target pipelines (attnc/Compiler/Pipelines/Pipelines.h) that
// upstream MLIR does not have. One pass per file in compiler/lib/Transforms.
//
//===----------------------------------------------------------------------===//

#ifndef ATTNC_COMPILER_TRANSFORMS_PASSES_TD
#define ATTNC_COMPILER_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def AttncOutlineKernels : Pass<"attnc-outline-kernels", "mlir::ModuleOp"> {
  let summary = "outlines every linalg op on buffers into its own private, "
                "non-inlinable function";
  let description = [{
    After bufferization an entry point is one long function: one loop nest
    per linalg op, hundreds of them for a 12-layer model. LLVM's function
    passes (InstCombine above all) are superlinear in function size, so one
    huge function compiles many times slower than the same code split up
    (llama-style at -O3: 51 s in one function). This pass moves every
    linalg op with buffer semantics (and every `memref.copy`, first
    rewritten to `linalg.copy` so that no `memrefCopy` runtime call is left)
    into a private function `<entry>__k<N>` marked `noinline`, taking the
    op's operands and the values its body uses from above (constants are
    cloned in), and calls it. Each kernel is then lowered, optimised and
    vectorised on its own, like IREE's dispatch regions; the entry point is
    a sequence of allocations and calls.

    ```mlir
    linalg.fill ins(%c0 : f32) outs(%buf : memref<?x768xf32>)
    ```
    becomes
    ```mlir
    call @forward__k0(%buf) : (memref<?x768xf32>) -> ()
    func.func private @forward__k0(%arg0: memref<?x768xf32>)
        attributes {passthrough = ["noinline"]} {
      %c0 = arith.constant 0.0 : f32
      linalg.fill ins(%c0 : f32) outs(%arg0 : memref<?x768xf32>)
      return
    }
    ```
  }];
  let dependentDialects = ["mlir::func::FuncDialect",
                           "mlir::linalg::LinalgDialect"];
}

#endif // ATTNC_COMPILER_TRANSFORMS_PASSES_TD
