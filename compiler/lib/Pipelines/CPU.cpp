//===- CPU.cpp - the attnc-cpu-pipeline: linalg on tensors -> LLVM --------===//
//
// After bufferization every linalg op becomes its own private, noinline
// kernel function, shared by every layer that has the same op
// (attnc-outline-kernels): LLVM then optimises ~50 small functions instead of
// one with hundreds of loop nests (llama-style at -O3: 51 s -> 1.8 s).
// Contractions (projections by [N, K] weights, Q.K^T, P.V) then become
// register-blocked vector FMA loop nests (starting from zero instead of
// reading a zero-filled output: attnc-fold-zero-fills, before outlining)
// whose outer loop is an scf.parallel
// (attnc-vectorize-contractions); convert-scf-to-openmp turns it into an
// OpenMP work-sharing loop (libomp, OMP_NUM_THREADS threads; static
// schedule, each output summed by one thread: results independent of the
// thread count). Every other linalg op gets an scf.parallel over its leading
// parallel dimensions around loops that LLVM vectorizes, exp/tanh/erf as
// polynomials (attnc-parallelize-elementwise). Flash attention
// (attn-flash-attention) arrives as an scf.forall over (batch, head, query
// tile): scf-forall-to-parallel makes it the OpenMP loop, and its tile
// contractions (attnc.serial) get sequential loops inside it.
//
//===----------------------------------------------------------------------===//

#include "attnc/Compiler/Pipelines/Pipelines.h"
#include "attnc/Compiler/Transforms/Passes.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/Arith/Transforms/Passes.h"
#include "mlir/Dialect/Bufferization/Pipelines/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Dialect/SCF/Transforms/Passes.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/Support/raw_ostream.h"

namespace {
/// The textual pipeline names upstream passes: register them once. Passes
/// may be registered again by other tools (same TypeID); pipelines are
/// looked up first.
void registerUpstreamPasses() {
  static bool done = [] {
    mlir::registerConversionPasses();
    mlir::arith::registerArithPasses();
    mlir::registerTransformsPasses();
    mlir::registerLinalgPasses();
    mlir::memref::registerMemRefPasses();
    mlir::registerSCFPasses();
    mlir::bufferization::registerBufferizationPasses();
    attnc::registerAttncPasses();
    if (!mlir::PassPipelineInfo::lookup("buffer-deallocation-pipeline"))
      mlir::bufferization::registerBufferizationPipelines();
    return true;
  }();
  (void)done;
}

/// attnc-vectorize-contractions' options for an ISA level (see
/// buildCpuPipeline): x86-64-v4 keeps the pass's defaults.
attnc::AttncVectorizeContractionsOptions
registerShapeFor(llvm::StringRef isaLevel) {
  attnc::AttncVectorizeContractionsOptions o;
  if (isaLevel == "x86-64-v4")
    return o;
  o.vectorWidth = isaLevel == "x86-64-v3" ? 8 : 4;
  o.colBlock = 2;
  o.dotRows = 8;
  o.prefetchRows = 0;
  // Decode's blocks read B as 8 long streams (Zen 3, 2 threads: 42-50 ->
  // 55-64 tok/s). x86-64-v4 keeps adjacent rows with prefetches: its
  // machine (Intel, 94-97% of the roofline) was not there to measure it.
  o.dotStreams = true;
  return o;
}
} // namespace

std::string attnc::cpuPipelineText(llvm::StringRef isaLevel) {
  AttncVectorizeContractionsOptions shape = registerShapeFor(isaLevel);
  std::string vectorizeContractions =
      "attnc-vectorize-contractions{vector-width=" +
      std::to_string(shape.vectorWidth) +
      " row-block=" + std::to_string(shape.rowBlock) +
      " col-block=" + std::to_string(shape.colBlock) +
      " dot-rows=" + std::to_string(shape.dotRows) +
      " prefetch-rows=" + std::to_string(shape.prefetchRows) +
      " dot-streams=" + (shape.dotStreams ? "true" : "false") + "},";
  return
      "attnc-private-init-fills,"
      "one-shot-bufferize{bufferize-function-boundaries "
      "function-boundary-type-conversion=identity-layout-map},"
      "scf-forall-to-parallel,"
      "buffer-results-to-out-params{modify-public-functions "
      "hoist-static-allocs hoist-dynamic-allocs},"
      "attnc-results-in-place,"
      "buffer-deallocation-pipeline,"
      "canonicalize,"
      "attnc-fold-zero-fills,"
      "attnc-outline-kernels,"
      + vectorizeContractions +
      "attnc-parallelize-elementwise,"
      "convert-scf-to-openmp,"
      "attnc-inline-alloca-scopes,"
      "convert-linalg-to-loops,"
      "lower-affine,"
      "convert-scf-to-cf,"
      "expand-strided-metadata,"
      "lower-affine,"
      // bf16 arithmetic in f32 and bf16 <-> f32 conversions as integer bit
      // operations: without this, LLVM calls __truncsfbf2 on CPUs without
      // AVX512-BF16 (e.g. --cpu x86-64-v3), which neither libgcc 12 nor the
      // runtime provides.
      "arith-emulate-unsupported-floats{source-types=bf16 target-type=f32},"
      "attnc-expand-bf16-conversions,"
      "convert-vector-to-llvm,"
      "convert-math-to-llvm,"
      "convert-math-to-libm,"
      // Heap buffers through attnc_host_*_fn slots (the runtime's caching
      // allocator; malloc/free when nothing sets them).
      "finalize-memref-to-llvm{use-generic-functions},"
      "convert-arith-to-llvm,"
      "convert-cf-to-llvm,"
      "convert-func-to-llvm,"
      "convert-arith-to-llvm,"
      "convert-openmp-to-llvm,"
      "reconcile-unrealized-casts,"
      "attnc-route-allocations,"
      "canonicalize";
}

mlir::LogicalResult attnc::buildCpuPipeline(mlir::OpPassManager &pm,
                                            llvm::StringRef isaLevel) {
  registerUpstreamPasses();
  // parsePassPipeline wants the pipeline without a builtin.module() anchor
  // (peers.md C.3 gotcha 7).
  return mlir::parsePassPipeline(cpuPipelineText(isaLevel), pm, llvm::errs());
}

void attnc::registerAttncCpuPipeline() {
  registerUpstreamPasses();
  if (mlir::PassPipelineInfo::lookup("attnc-cpu-pipeline"))
    return;
  mlir::PassPipelineRegistration<>(
      "attnc-cpu-pipeline",
      "Lower linalg on tensors to the LLVM dialect for the CPU "
      "(bufferize, out-params, loops, LLVM)",
      [](mlir::OpPassManager &pm) {
        (void)buildCpuPipeline(pm, "x86-64-v4");
      });
}
