//===- ConvertAttnToLinalg.cpp - the convert-attn-to-linalg pass ----------===//
//
// Every attn op becomes linalg/tensor/arith/math on tensors. The coarse
// attention ops take the same route as in the pipeline: mixed_sdpa expands
// into sdpa (AttnExpandPatterns), sdpa decomposes into query_key +
// weights_value (AttnDecomposeAttention); the dialect conversion legalises
// what those patterns create.
//
//===----------------------------------------------------------------------===//

#include "attnc/Conversion/Passes.h"

#include "LoweringUtils.h"

#include "attnc/Dialect/Attn/Transforms/Passes.h"

namespace mlir::attn {
#define GEN_PASS_DEF_CONVERTATTNTOLINALG
#include "attnc/Conversion/Passes.h.inc"
} // namespace mlir::attn

using namespace mlir;
using namespace mlir::attn;

void mlir::attn::configureAttnToLinalgTarget(ConversionTarget &target) {
  target.addIllegalDialect<AttnDialect>();
  target.addLegalDialect<linalg::LinalgDialect, tensor::TensorDialect,
                         arith::ArithDialect, math::MathDialect>();
}

void mlir::attn::populateAttnToLinalgConversionPatterns(
    RewritePatternSet &patterns) {
  populateExpandPatternsPatterns(patterns);
  populateDecomposeAttentionPatterns(patterns);
  populateEmbeddingLoweringPatterns(patterns);
  populateLayerLoweringPatterns(patterns);
  populateAttentionLoweringPatterns(patterns);
}

namespace {
struct ConvertAttnToLinalgPass
    : attn::impl::ConvertAttnToLinalgBase<ConvertAttnToLinalgPass> {
  void runOnOperation() override {
    ConversionTarget target(getContext());
    configureAttnToLinalgTarget(target);
    // Everything that is not attn stays as it is (func, scf, ...).
    target.markUnknownOpDynamicallyLegal([](Operation *) { return true; });
    RewritePatternSet patterns(&getContext());
    populateAttnToLinalgConversionPatterns(patterns);
    if (failed(applyPartialConversion(getOperation(), target,
                                      std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
