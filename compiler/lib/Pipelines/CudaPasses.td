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
    copy of a weight is then dead, and attnc-cuda-matmul-kernels sees
    bf16/f16 operands where both were narrow.
  }];
  let constructor = "attnc::cuda::createNarrowMatmulInputsPass()";
  let dependentDialects = ["mlir::linalg::LinalgDialect"];
}

def AttncCudaMatmulKernels
    : Pass<"attnc-cuda-matmul-kernels", "mlir::ModuleOp"> {
  let summary = "Matmuls against a weight as tiled kernels: mma.sync "
                "(tensor cores) or FMAs, A and B staged in shared memory";
  let description = [{
    On memrefs, before the linalg ops become loops: each linalg.contract
    C[p..., m, n] += A[p..., m, k] * B[n, k] (B a 2-D weight in its own
    [out, in] layout, A and B of one type, bf16, f16 or f32, C f32) becomes
    one gpu.launch. The rows of A/C (all dims but the last, flattened) and
    the columns n form the grid; a block of 128 threads owns 64 x 64
    outputs. Per k-block the block's threads copy its 64 rows of A and of B
    into shared memory (8 consecutive k per thread and row, as bits; rows
    padded by 16 bytes against bank conflicts), a barrier, the block
    computes on the tiles, a second barrier. Rows and columns past the end
    are clamped on load and not stored, a k past the end reads zero. A zero
    linalg.fill of C right before the contraction is dropped (the
    accumulators start at zero). Other contractions are left alone.

    Tensor cores (bf16/f16 unless `tensor-cores=off`; f32 with
    `tensor-cores=tf32`): k-blocks of 32 (tf32: 16); 4 warps, each 32 x 32
    outputs as 2 x 4 tiles of 16 x 8 with f32 accumulators in registers,
    take their fragments from the tiles at the places MLIR's mma.sync
    lowering defines (nvgpu::getLaneIdAndValueIdToOperandCoord) for two
    mma.sync k-steps (m16n8k16; tf32 m16n8k8). Otherwise the FMA kernel:
    k-blocks of 16; thread t owns rows t / 16 + 8 i (i < 8) and columns
    t % 16 + 16 j (j < 4), 32 f32 accumulators, 32 FMAs per k.

    With `emulate` (--emit=cpu-emulation) the same per-thread code runs in
    loops over blocks, threads (the copy; the FMA kernel's steps), warps and
    lanes; the lanes' fragment values go to staging buffers, and each
    mma.sync is computed from the PTX ISA's fragment tables (written
    separately from nvgpu's map): the kernels' indexing, copies, edges and
    fragment order are checked numerically on the CPU; the packing into
    registers, the barriers and mma.sync itself are not.
  }];
  let options = [
    Option<"tensorCores", "tensor-cores", "std::string", "\"auto\"",
           "auto: bf16/f16 matmuls on the tensor cores; tf32: f32 ones too, "
           "as tf32 (10-bit mantissa products, f32 sums); off: none (every "
           "matmul on the FMA kernel)">,
    Option<"emulate", "emulate", "bool", "false",
           "for --emit=cpu-emulation: the same kernels as loops over blocks, "
           "threads, warps and lanes, each mma.sync computed from the PTX "
           "ISA's fragment tables on the fragments the lanes staged">,
  ];
  let constructor = "attnc::cuda::createMatmulKernelsPass()";
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
