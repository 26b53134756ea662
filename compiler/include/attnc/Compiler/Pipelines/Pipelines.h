//===- Pipelines.h - attnc target pipelines ----------------------*- C++ -*-===//
//
// The attn -> linalg pipeline is the dialect's (attnc/Pipelines/Pipelines.h,
// `attnc-lower-to-linalg`); these take linalg on tensors on to a target.
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_COMPILER_PIPELINES_PIPELINES_H
#define ATTNC_COMPILER_PIPELINES_PIPELINES_H

#include <cstdint>
#include <string>

#include "mlir/Support/LLVM.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/LogicalResult.h"

namespace mlir {
class OpPassManager;
} // namespace mlir

namespace attnc {

/// How attnc-vectorize-contractions shapes its register blocks for a CPU.
/// Blocks sized for AVX-512's 32 zmm registers spill on a CPU with 16: on
/// an AVX2 machine (Zen 3) the 256-token forward took 2.3 s with the
/// AVX-512 shape and 0.93 s with the AVX2 one.
struct CpuRegisterShape {
  int64_t vectorWidth = 16; ///< f32 lanes per register
  int64_t rowBlock = 6;     ///< rows of A per broadcast-FMA block
  int64_t colBlock = 4;     ///< vectors (rows of B in dot blocks) per block
  int64_t dotRows = 4;      ///< rows of B per dot block of one row of A
  int64_t prefetchRows = 4; ///< how far ahead those blocks prefetch B
};

/// The shape for an ISA level (attnc::rt::kIsaLevels): x86-64-v4 (AVX-512,
/// 32 registers): 16 lanes, 6 x 4 blocks (24 accumulators), decode dot
/// blocks of 4 rows prefetching 4 rows ahead; x86-64-v3 (AVX2 + FMA, 16
/// registers): 8 lanes, 6 x 2 blocks (12 accumulators, two B vectors and a
/// broadcast), decode dot blocks of 8 rows; below that (SSE, 16
/// registers): 4 lanes, otherwise as AVX2.
CpuRegisterShape cpuRegisterShapeFor(llvm::StringRef isaLevel);

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
/// The contraction register blocks are shaped for `shape` (the target CPU's
/// vector registers; cpuRegisterShapeFor).
mlir::LogicalResult buildCpuPipeline(mlir::OpPassManager &pm,
                                     const CpuRegisterShape &shape);

/// The same pipeline as text, for --dump-ir-after-all and tests (no
/// builtin.module() wrapper).
std::string cpuPipelineText(const CpuRegisterShape &shape);

/// Registers `attnc-cpu-pipeline` (the AVX-512 shape, CpuRegisterShape{}).
void registerAttncCpuPipeline();

/// linalg on tensors -> host code in the LLVM dialect (sizes, device
/// allocations through _mlir_memref_to_llvm_alloc/free, gpu.launch_func
/// ops) + one gpu.module of NVVM kernels for `arch` ("sm_80",
/// "sm_90"), one kernel per linalg op. compiler/lib/Pipelines/CUDA.cpp and
/// compiler/docs/cuda.md describe it. gpu-module-to-binary (PTX) is left to
/// the caller. Runs on a builtin.module.
mlir::LogicalResult buildCudaPipeline(mlir::OpPassManager &pm,
                                      const std::string &arch);

/// The same pipeline as text.
std::string cudaPipelineText(const std::string &arch);

/// A test aid: the CUDA pipeline up to the tiled, mapped parallel loops,
/// then lowered for the CPU (the loops run sequentially), so that the
/// CUDA-specific rewrites can be checked numerically without a GPU.
mlir::LogicalResult buildCudaEmulationPipeline(mlir::OpPassManager &pm);
std::string cudaEmulationPipelineText();

/// Registers `attnc-cuda-pipeline` (sm_90).
void registerAttncCudaPipeline();

} // namespace attnc

#endif // ATTNC_COMPILER_PIPELINES_PIPELINES_H
