//===- CUDA.cpp - the attnc-cuda-pipeline: linalg on tensors -> PTX -------===//
//
// Every linalg op becomes one kernel: matmuls against a weight as tiled
// kernels (attnc-cuda-matmul-kernels), attention as one scf.forall
// (attnc-cuda-fused-attention), the rest through the generic loop mapping.
// The attnc passes are one per file, Cuda<Name>.cpp (CudaPasses.h).
//
//   bf16/f16 contractions read their narrow inputs
//     (attnc-cuda-narrow-matmul-inputs)
//   bufferize (as for the CPU: identity layouts, outputs as out-params)
//   scf.forall -> scf.parallel (the fused attention)
//   memref.copy -> linalg copy (attnc-cuda-copies-to-linalg)
//   matmuls against a weight -> tiled kernels (gpu.launch, A and B staged
//     in shared memory): mma.sync for bf16/f16 inputs (f32 ones too with
//     --tensor-cores=tf32; none with off), FMAs otherwise
//     (attnc-cuda-matmul-kernels)
//   linalg -> scf.parallel over the parallel dims, scf.for over reductions
//   attnc-cuda-map-loops: each top-level scf.parallel is tiled so that one
//     block of up to 256 threads covers a [ty, tx] tile of the two innermost
//     parallel dims (tx = 32..256 along the innermost), the tiles go to the
//     grid (innermost tile index -> block x, then y, z; further outer dims
//     loop inside the kernel); memory ops outside any parallel loop are
//     wrapped in a one-thread launch so the host never touches device memory;
//     static allocas (thread-private arrays) move to the kernel entry
//   convert-parallel-loops-to-gpu, gpu-kernel-outlining
//   attnc-cuda-merge-kernels: one gpu.module (@attnc_kernels) with
//     structurally identical kernels (the same op in every layer) shared
//   attnc-cuda-check-host: the host functions only compute sizes, allocate
//     and launch (no loads/stores: their memrefs are device memory)
//   nvvm-attach-target{chip=<arch>}, math -> polynomial approximations in
//     the kernels (attnc-cuda-expand-math: no libdevice needed), gpu -> nvvm
//   host: memref.alloc/dealloc -> _mlir_memref_to_llvm_alloc/free (the
//     runtime maps them to cuMemAlloc/cuMemFree), gpu.launch_func ->
//     mgpu* calls (gpu-to-llvm), gpu-module-to-binary{format=isa}: PTX.
//
//===----------------------------------------------------------------------===//

#include "attnc/Compiler/Pipelines/Pipelines.h"
#include "attnc/Compiler/Transforms/Passes.h"

#include "CudaPasses.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/Arith/Transforms/Passes.h"
#include "mlir/Dialect/Bufferization/Pipelines/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Dialect/SCF/Transforms/Passes.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/Support/raw_ostream.h"

namespace attnc::cuda {
#define GEN_PASS_REGISTRATION
#include "CudaPasses.h.inc"
} // namespace attnc::cuda

using namespace mlir;

namespace {

void registerUpstreamPasses() {
  static bool done = [] {
    registerConversionPasses();
    arith::registerArithPasses();
    registerTransformsPasses();
    registerLinalgPasses();
    registerSCFPasses();
    registerGPUPasses();
    memref::registerMemRefPasses();
    bufferization::registerBufferizationPasses();
    if (!PassPipelineInfo::lookup("buffer-deallocation-pipeline"))
      bufferization::registerBufferizationPipelines();
    // attnc's target passes (attnc-expand-bf16-conversions) and its CUDA
    // passes (CudaPasses.td), one per file.
    attnc::registerAttncPasses();
    attnc::cuda::registerAttncCudaPasses();
    return true;
  }();
  (void)done;
}

} // namespace

namespace {

/// The CUDA pipeline's passes as text; `emulateMatmuls`: the matmul kernels
/// as CPU loops (the cpu-emulation's prefix).
std::string cudaPassesText(const std::string &arch,
                           const std::string &tensorCores,
                           bool emulateMatmuls) {
  std::string matmuls =
      "attnc-cuda-matmul-kernels{tensor-cores=" + tensorCores +
      (emulateMatmuls ? " emulate=true" : "") + "},";
  return "attnc-cuda-narrow-matmul-inputs,"
         "canonicalize,"
         "one-shot-bufferize{bufferize-function-boundaries "
         "function-boundary-type-conversion=identity-layout-map},"
         "buffer-results-to-out-params{modify-public-functions "
         "hoist-static-allocs hoist-dynamic-allocs},"
         "buffer-deallocation-pipeline,"
         "canonicalize,"
         "scf-forall-to-parallel,"
         "attnc-cuda-copies-to-linalg," +
         matmuls +
         "func.func(convert-linalg-to-parallel-loops),"
         "attnc-cuda-map-loops,"
         "func.func(convert-parallel-loops-to-gpu),"
         "gpu-launch-sink-index-computations,"
         "gpu-kernel-outlining,"
         "attnc-cuda-merge-kernels,"
         "attnc-cuda-check-host,"
         "nvvm-attach-target{chip=" +
         arch +
         " O=3},"
         "lower-affine,"
         "convert-scf-to-cf,"
         "gpu.module(attnc-cuda-expand-math,"
         "convert-gpu-to-nvvm,"
         "attnc-cuda-replace-libdevice,"
         "canonicalize,"
         "cse,"
         "reconcile-unrealized-casts),"
         "expand-strided-metadata,"
         "lower-affine,"
         "finalize-memref-to-llvm{use-generic-functions},"
         "convert-math-to-llvm,"
         "convert-arith-to-llvm,"
         "convert-cf-to-llvm,"
         "convert-func-to-llvm,"
         "gpu-to-llvm,"
         "reconcile-unrealized-casts,"
         "canonicalize";
}

} // namespace

std::string attnc::cudaPipelineText(const std::string &arch,
                                    const std::string &tensorCores) {
  return cudaPassesText(arch, tensorCores, /*emulateMatmuls=*/false);
}

std::string attnc::cudaEmulationPipelineText(const std::string &tensorCores) {
  // The CUDA pipeline up to the mapped loops (what becomes the kernels and
  // the host code), then sequential loops on the CPU: scf.parallel ->
  // scf.for, the same polynomial math.
  // The matmul kernels as loops (mma.sync computed on the CPU).
  std::string text = cudaPassesText("sm_90", tensorCores,
                                    /*emulateMatmuls=*/true);
  text = text.substr(0, text.find("func.func(convert-parallel-loops-to-gpu)"));
  return text +
         "attnc-cuda-emulation-hoist-allocas,"
         "attnc-cuda-expand-math,"
         "convert-scf-to-cf,"
         "lower-affine,"
         "expand-strided-metadata,"
         "lower-affine,"
         // bf16 conversions without a __truncsfbf2 libcall (see CPU.cpp).
         "arith-emulate-unsupported-floats{source-types=bf16 target-type=f32},"
         "attnc-expand-bf16-conversions,"
         "finalize-memref-to-llvm,"
         "convert-math-to-llvm,"
         "convert-math-to-libm,"
         "convert-arith-to-llvm,"
         "convert-cf-to-llvm,"
         "convert-func-to-llvm,"
         "reconcile-unrealized-casts,"
         "canonicalize";
}

mlir::LogicalResult
attnc::buildCudaEmulationPipeline(mlir::OpPassManager &pm,
                                  const std::string &tensorCores) {
  registerUpstreamPasses();
  return parsePassPipeline(cudaEmulationPipelineText(tensorCores), pm,
                           llvm::errs());
}

mlir::LogicalResult attnc::buildCudaPipeline(mlir::OpPassManager &pm,
                                             const std::string &arch,
                                             const std::string &tensorCores) {
  registerUpstreamPasses();
  return parsePassPipeline(cudaPipelineText(arch, tensorCores), pm,
                           llvm::errs());
}

void attnc::registerAttncCudaPipeline() {
  registerUpstreamPasses();
  if (PassPipelineInfo::lookup("attnc-cuda-pipeline"))
    return;
  PassPipelineRegistration<>(
      "attnc-cuda-pipeline",
      "Lower linalg on tensors to host LLVM dialect + GPU kernels in the "
      "NVVM dialect for sm_90 (one kernel per linalg op, tiled matmuls; "
      "gpu-module-to-binary makes the PTX)",
      [](OpPassManager &pm) { (void)buildCudaPipeline(pm, "sm_90", "auto"); });
  PassPipelineRegistration<>(
      "attnc-cuda-emulation-pipeline",
      "The attnc-cuda-pipeline up to the block/thread mapping, then host "
      "LLVM with the mapped loops run sequentially (--emit=cpu-emulation)",
      [](OpPassManager &pm) { (void)buildCudaEmulationPipeline(pm, "auto"); });
}
