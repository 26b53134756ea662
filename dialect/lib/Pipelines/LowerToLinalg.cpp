//===- LowerToLinalg.cpp - the attnc-lower-to-linalg pipeline -------------===//

#include "attnc/Pipelines/Pipelines.h"

#include "attnc/Conversion/Passes.h"
#include "attnc/Dialect/Attn/Transforms/Passes.h"

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

void attnc::buildLowerToLinalgPipeline(mlir::OpPassManager &pm,
                                       bool flashAttention) {
  pm.addPass(mlir::attn::createAttnExpandPatterns());
  pm.addPass(mlir::createCanonicalizerPass());
  // sdpa -> tiled online-softmax attention; what it leaves is decomposed.
  if (flashAttention)
    pm.addPass(mlir::attn::createAttnFlashAttention());
  pm.addPass(mlir::attn::createAttnDecomposeAttention());
  pm.addPass(mlir::attn::createConvertAttnToLinalg());
  pm.addPass(mlir::createCanonicalizerPass());
  pm.addPass(mlir::createCSEPass());
}

void attnc::registerAttncPipelines() {
  mlir::PassPipelineRegistration<>(
      "attnc-lower-to-linalg",
      "Lower the attn dialect to linalg/tensor/arith/math on tensors "
      "(expand patterns, decompose attention, convert, clean up)",
      [](mlir::OpPassManager &pm) { buildLowerToLinalgPipeline(pm); });
}
