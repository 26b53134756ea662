//===- Pipelines.h - attnc target pipelines ----------------------*- C++ -*-===//
//
// The attn -> linalg pipeline is the dialect's (attnc/Pipelines/Pipelines.h,
// `attnc-lower-to-linalg`); these take linalg on tensors on to a target.
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_COMPILER_PIPELINES_PIPELINES_H
#define ATTNC_COMPILER_PIPELINES_PIPELINES_H

#include <string>

#include "mlir/Support/LLVM.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/LogicalResult.h"

namespace mlir {
class OpPassManager;
} // namespace mlir

namespace attnc {

/// linalg/tensor/arith/math on tensors -> LLVM dialect, for the CPU:
///   one-shot-bufferize (function boundaries, identity layouts),
///   buffer-results-to-out-params (public functions too, allocations
///   hoisted, so the caller allocates every output), buffer deallocation,
///   attnc-outline-kernels (one deduplicated noinline function per linalg
///   op, memref.copy included), linalg -> loops, affine/scf -> cf, math/memref/arith/cf/func -> llvm,
///   reconcile-unrealized-casts.
/// Public functions should carry `llvm.emit_c_interface` before it runs
/// (markEntryPoints in attnc/Compiler/Target/Emit.h does that) so that
/// `_mlir_ciface_<name>` wrappers taking memref descriptors are generated.
/// Runs on a builtin.module.
///
/// attnc-vectorize-contractions shapes its register blocks for the vector
/// registers of `isaLevel` (one of attnc::rt::kIsaLevels): blocks sized for
/// AVX-512's 32 registers spill on a CPU with 16 (on an AVX2 Zen 3 the
/// 256-token forward took 2.3 s with them, 0.92 s with the AVX2 shape).
///   x86-64-v4 (AVX-512): 16 lanes, 6 x 4 blocks (24 accumulators), decode
///     dot blocks of 4 rows of B prefetching 4 rows ahead (the pass's
///     defaults);
///   x86-64-v3 (AVX2 + FMA): 8 lanes, 6 x 2 blocks (12 accumulators, two B
///     vectors, a broadcast), decode dot blocks of 8 rows, no prefetches;
///   below that (SSE): 4 lanes, otherwise as x86-64-v3.
mlir::LogicalResult buildCpuPipeline(mlir::OpPassManager &pm,
                                     llvm::StringRef isaLevel);

/// The same pipeline as text, for --dump-ir-after-all and tests (no
/// builtin.module() wrapper).
std::string cpuPipelineText(llvm::StringRef isaLevel);

/// Registers `attnc-cpu-pipeline` (for x86-64-v4).
void registerAttncCpuPipeline();

/// linalg on tensors -> host code in the LLVM dialect (sizes, device
/// allocations through _mlir_memref_to_llvm_alloc/free, gpu.launch_func
/// ops) + one gpu.module of NVVM kernels for `arch` ("sm_80",
/// "sm_90"), one kernel per linalg op (matmuls as tiled kernels).
/// compiler/lib/Pipelines/CUDA.cpp and compiler/docs/cuda.md describe it.
/// gpu-module-to-binary (PTX) is left to the caller. Runs on a
/// builtin.module.
/// `tensorCores`: "auto" (bf16/f16 matmuls on the tensor cores), "tf32"
/// (f32 matmuls too, as tf32) or "off".
mlir::LogicalResult buildCudaPipeline(mlir::OpPassManager &pm,
                                      const std::string &arch,
                                      const std::string &tensorCores);

/// The same pipeline as text.
std::string cudaPipelineText(const std::string &arch,
                             const std::string &tensorCores);

/// A test aid: the CUDA pipeline up to the tiled, mapped parallel loops,
/// then lowered for the CPU (the loops run sequentially), so that the
/// CUDA-specific rewrites can be checked numerically without a GPU.
/// The matmul kernels (`tensorCores` as for buildCudaPipeline) run as loops,
/// mma.sync computed on the CPU.
mlir::LogicalResult buildCudaEmulationPipeline(mlir::OpPassManager &pm,
                                               const std::string &tensorCores);
std::string cudaEmulationPipelineText(const std::string &tensorCores);

/// Registers `attnc-cuda-pipeline` (sm_90).
void registerAttncCudaPipeline();

} // namespace attnc

#endif // ATTNC_COMPILER_PIPELINES_PIPELINES_H
