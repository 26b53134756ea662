//===- CudaExpandMath.cpp - attnc-cuda-expand-math ------------------------===//
//
// math ops -> polynomial approximations in the kernels (no libdevice).
// A pass of the attnc-cuda-pipeline (CUDA.cpp, compiler/docs/cuda.md).
//
//===----------------------------------------------------------------------===//

#include "CudaPasses.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace attnc::cuda {
#define GEN_PASS_DEF_ATTNCCUDAEXPANDMATH
#include "CudaPasses.h.inc"
} // namespace attnc::cuda

using namespace mlir;

namespace {

/// math ops -> arith/polynomial forms inside the kernels, so that
/// convert-gpu-to-nvvm has nothing to call in libdevice; what remains
/// (sqrt, fabs, fma, floor, ...) lowers to LLVM intrinsics NVPTX supports.
struct ExpandMathPass
    : attnc::cuda::impl::AttncCudaExpandMathBase<ExpandMathPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    math::populateExpansionPatterns(patterns);
    auto all = [](StringRef) { return true; };
    populateMathF32ExpansionPatterns(patterns, all);
    populateMathPolynomialApproximationPatterns(patterns, all);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace

std::unique_ptr<Pass> attnc::cuda::createExpandMathPass() {
  return std::make_unique<ExpandMathPass>();
}
