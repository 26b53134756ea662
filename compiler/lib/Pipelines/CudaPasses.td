//===- CudaPasses.td - the attnc-cuda-pipeline's own passes --*- tablegen -*-===//
//
// Private to compiler/lib/Pipelines: one pass per file (Cuda<Name>.cpp),
// created through CudaPasses.h and registered by CUDA.cpp. Where each runs:
// CUDA.cpp's file comment and compiler/docs/cuda.md.
//
//===----------------------------------------------------------------------===//

#ifndef ATTNC_LIB_PIPELINES_CUDAPASSES_TD
#define ATTNC_LIB_PIPELINES_CUDAPASSES_TD

include "mlir/Pass/PassBase.td"

def AttncCudaCopiesToLinalg
    : Pass<"attnc-cuda-copies-to-linalg", "mlir::ModuleOp"> {
  let summary = "memref.copy -> linalg.generic copy";
  let description = [{
    A memref.copy becomes a linalg.generic copy, so that it becomes a kernel
    like every other linalg op (finalize-memref-to-llvm would make it a host
    memcpy on device pointers).
  }];
  let constructor = "attnc::cuda::createCopiesToLinalgPass()";
  let dependentDialects = ["mlir::linalg::LinalgDialect"];
}

def AttncCudaNarrowMatmulInputs
    : Pass<"attnc-cuda-narrow-matmul-inputs", "mlir::ModuleOp"> {
  let summary = "A contraction of bf16/f16 tensors widened to f32 reads the "
                "narrow tensors";
  let description = [{
    On tensors, before bufferization: a linalg.contract with an f32 result
    whose inputs (either or both) are results of elementwise `arith.extf`
    generics from bf16/f16 is rebuilt on the narrow tensors
    (linalg.contract widens each element as it multiplies). The widening
    copy of a weight is then dead, and attnc-cuda-tensor-core-matmuls sees
    bf16/f16 operands where both were narrow.
  }];
  let constructor = "attnc::cuda::createNarrowMatmulInputsPass()";
  let dependentDialects = ["mlir::linalg::LinalgDialect"];
}

def AttncCudaTensorCoreMatmuls
    : Pass<"attnc-cuda-tensor-core-matmuls", "mlir::ModuleOp"> {
  let summary = "Matmuls against a weight as mma.sync kernels (tensor cores)";
  let description = [{
    On memrefs, before the linalg ops become loops: each linalg.contract
    C[p..., m, n] += A[p..., m, k] * B[n, k] (B a 2-D weight in its own
    [out, in] layout, C f32) with bf16 or f16 inputs, or f32 inputs when
    `tf32` is set, becomes one gpu.launch. The rows of A/C (all dims but
    the last, flattened) and the columns n form the grid: a block of 4 warps
    owns 64 x 64 outputs, a warp 32 x 32 as 2 x 4 tiles of 16 x 8 with f32
    accumulators in registers. Per k-block (32 for bf16/f16, 16 for tf32)
    the block's threads copy its 64 rows of A and of B into shared memory
    (8 consecutive k per thread and row; rows padded by 16 bytes against
    bank conflicts), a barrier, then each warp takes its fragments there at
    the places MLIR's mma.sync lowering defines
    (nvgpu::getLaneIdAndValueIdToOperandCoord) for two mma.sync k-steps
    (m16n8k16; tf32 m16n8k8), and a second barrier. Rows and columns past
    the end are clamped on load and not stored, a k past the end reads
    zero. A zero linalg.fill of C right before the contraction is dropped
    (the accumulators start at zero). Other contractions are left alone.

    With `emulate` (--emit=cpu-emulation) the same per-thread code runs in
    loops over blocks, threads (the copy), warps and lanes, the lanes'
    fragment values go to staging buffers, and each mma.sync is computed
    from the PTX ISA's fragment tables (written separately from nvgpu's
    map): the kernels' indexing, copies, edges and fragment order are
    checked numerically on the CPU; the packing into registers, the
    barriers and mma.sync itself are not.
  }];
  let options = [
    Option<"tf32", "tf32", "bool", "false",
           "f32 matmuls too, as tf32 (10-bit mantissa products, f32 sums)">,
    Option<"emulate", "emulate", "bool", "false",
           "for --emit=cpu-emulation: the same kernels as loops over blocks, "
           "warps and lanes, each mma.sync computed from the PTX ISA's "
           "fragment tables on the fragments the lanes staged">,
  ];
  let constructor = "attnc::cuda::createTensorCoreMatmulsPass()";
  let dependentDialects = ["mlir::gpu::GPUDialect", "mlir::scf::SCFDialect",
                           "mlir::arith::ArithDialect",
                           "mlir::LLVM::LLVMDialect",
                           "mlir::NVVM::NVVMDialect",
                           "mlir::memref::MemRefDialect"];
}

def AttncCudaMapLoops : Pass<"attnc-cuda-map-loops", "mlir::ModuleOp"> {
  let summary = "Tile top-level scf.parallel loops into blocks of threads and "
                "map them to the GPU";
  let description = [{
    Each top-level scf.parallel is tiled so that one block of up to 256
    threads covers a tile of its two innermost parallel dims, the tiles go to
    the grid, and thread-private buffers move to the kernel's entry; other
    memory-touching top-level ops get a one-thread launch, and a host read
    of one device element goes through attnc_cuda_memcpy_dtoh.
  }];
  let constructor = "attnc::cuda::createMapLoopsPass()";
  let dependentDialects = ["mlir::gpu::GPUDialect", "mlir::scf::SCFDialect",
                           "mlir::arith::ArithDialect",
                           "mlir::func::FuncDialect"];
}

def AttncCudaEmulationHoistAllocas
    : Pass<"attnc-cuda-emulation-hoist-allocas", "mlir::ModuleOp"> {
  let summary = "Move static allocas out of the top-level (mapped) "
                "scf.parallel loops (sequential CPU emulation only)";
  let description = [{
    --emit=cpu-emulation runs the mapped loops sequentially on the host: a
    thread-private buffer moves in front of its top-level loop, so that the
    loops reuse one stack slot instead of allocating per iteration.
  }];
  let constructor = "attnc::cuda::createEmulationHoistAllocasPass()";
}

def AttncCudaMergeKernels
    : Pass<"attnc-cuda-merge-kernels", "mlir::ModuleOp"> {
  let summary = "Merge the outlined gpu.modules into one, sharing identical "
                "kernels";
  let description = [{
    All outlined kernels go into one gpu.module @attnc_kernels (one PTX, one
    module load); a kernel identical to an earlier one (same body, same
    argument types: the same op in another layer) is dropped and its
    launches go to the earlier one.
  }];
  let constructor = "attnc::cuda::createMergeKernelsPass()";
}

def AttncCudaCheckHost : Pass<"attnc-cuda-check-host", "mlir::ModuleOp"> {
  let summary = "Fail when host code reads or writes a memref";
  let description = [{
    Host code must not dereference its memrefs: they are device memory. The
    pass names the offending op and the function it is in.
  }];
  let constructor = "attnc::cuda::createCheckHostPass()";
}

def AttncCudaExpandMath : Pass<"attnc-cuda-expand-math"> {
  let summary = "Expand math ops into polynomial approximations in "
                "gpu.modules";
  let description = [{
    math ops -> arith/polynomial forms inside the kernels, so that
    convert-gpu-to-nvvm has nothing to call in libdevice; what remains
    (sqrt, fabs, fma, floor, ...) lowers to LLVM intrinsics NVPTX supports.
  }];
  let constructor = "attnc::cuda::createExpandMathPass()";
  let dependentDialects = ["mlir::arith::ArithDialect",
                           "mlir::math::MathDialect",
                           "mlir::vector::VectorDialect"];
}

def AttncCudaReplaceLibdevice
    : Pass<"attnc-cuda-replace-libdevice", "mlir::gpu::GPUModuleOp"> {
  let summary = "Replace libdevice calls by LLVM intrinsics in gpu.modules";
  let description = [{
    convert-gpu-to-nvvm turns what is left of math (sqrt, floor, ...) into
    calls to libdevice (__nv_sqrtf, ...), which is not linked (a machine
    without CUDA has none): the simple ones become LLVM intrinsics NVPTX
    selects directly; any other __nv_ call is an error.
  }];
  let constructor = "attnc::cuda::createReplaceLibdevicePass()";
}

#endif // ATTNC_LIB_PIPELINES_CUDAPASSES_TD
