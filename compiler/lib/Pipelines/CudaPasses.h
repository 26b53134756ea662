//===- CudaPasses.h - the attnc-cuda-pipeline's own passes ------*- C++ -*-===//
//
// Private to compiler/lib/Pipelines: the passes of the CUDA pipeline that
// upstream MLIR does not have, declared in CudaPasses.td (ODS), one per file
// (Cuda<Name>.cpp), registered by CUDA.cpp under the names in the comments. See CUDA.cpp's file comment and
// compiler/docs/cuda.md for where each runs.
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_LIB_PIPELINES_CUDAPASSES_H
#define ATTNC_LIB_PIPELINES_CUDAPASSES_H

#include "mlir/Pass/Pass.h"

#include <memory>

namespace attnc::cuda {

/// attnc-cuda-copies-to-linalg: memref.copy -> a linalg copy (a kernel).
std::unique_ptr<mlir::Pass> createCopiesToLinalgPass();
/// attnc-cuda-narrow-matmul-inputs: contractions read bf16/f16 inputs
/// instead of their f32 widenings.
std::unique_ptr<mlir::Pass> createNarrowMatmulInputsPass();
/// attnc-cuda-matmul-kernels: matmuls against a weight as tiled
/// kernels, mma.sync for bf16/f16 (`tensorCores` "auto"; f32 as tf32 with
/// "tf32"; none with "off"), FMAs otherwise; `emulate`: the same kernels as
/// CPU loops (--emit=cpu-emulation).
std::unique_ptr<mlir::Pass>
createMatmulKernelsPass(llvm::StringRef tensorCores = "auto",
                            bool emulate = false);
/// attnc-cuda-map-loops: top-level scf.parallel -> blocks and threads.
std::unique_ptr<mlir::Pass> createMapLoopsPass();
/// attnc-cuda-emulation-hoist-allocas: private buffers out of the mapped
/// loops (--emit=cpu-emulation only).
std::unique_ptr<mlir::Pass> createEmulationHoistAllocasPass();
/// attnc-cuda-merge-kernels: one gpu.module, identical kernels shared.
std::unique_ptr<mlir::Pass> createMergeKernelsPass();
/// attnc-cuda-check-host: host code must not touch device memory.
std::unique_ptr<mlir::Pass> createCheckHostPass();
/// attnc-cuda-expand-math: math ops -> polynomials in the kernels.
std::unique_ptr<mlir::Pass> createExpandMathPass();
/// attnc-cuda-replace-libdevice: __nv_* calls -> LLVM intrinsics.
std::unique_ptr<mlir::Pass> createReplaceLibdevicePass();

} // namespace attnc::cuda

#endif // ATTNC_LIB_PIPELINES_CUDAPASSES_H
