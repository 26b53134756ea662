//===- CompileCuda.h - `attnc compile --target cuda` -------------*- C++ -*-===//
//
// config or .mlir file -> attn -> linalg on tensors -> attnc-cuda-pipeline
// -> PTX (LLVM's NVPTX back end; no CUDA needed) [-> cubin when ptxas is
// found] -> one shared-object artifact: x86-64 host code (entry points with
// the CPU artifacts' ABI, their memrefs holding device pointers) plus the
// PTX/cubin as exported globals. compiler/docs/cuda.md has the launch ABI.
// No MLIR types here (the CLI includes it).
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_COMPILER_TARGET_COMPILECUDA_H
#define ATTNC_COMPILER_TARGET_COMPILECUDA_H

#include "attnc/Compiler/Target/CompileRequest.h"

namespace attnc {

/// emit: linalg | gpu-mlir (after the pipeline, before PTX) | ptx | cubin |
/// llvm (host LLVM IR) | artifact | cpu-emulation.
struct CompileCudaRequest : CompileRequest {
  std::string gpuArch = "sm_90"; ///< sm_80 or sm_90
  /// auto (bf16/f16 matmuls on the tensor cores), tf32 (f32 ones too, as
  /// tf32) or off.
  std::string tensorCores = "auto";
  /// ptxas to check the PTX with and make the cubin: empty finds one
  /// (findPtxas); "none" skips it.
  std::string ptxas;
};

/// The GPU architectures --gpu-arch accepts.
bool isSupportedGpuArch(const std::string &arch);

/// $ATTNC_PTXAS, then ptxas on PATH, then $CUDA_HOME/bin/ptxas, then
/// /usr/local/cuda/bin/ptxas; empty when none exists.
std::string findPtxas();

/// Runs the request; 0 ok, 1 compile error, 2 usage/IO error.
int compileCuda(const CompileCudaRequest &request);

} // namespace attnc

#endif // ATTNC_COMPILER_TARGET_COMPILECUDA_H
