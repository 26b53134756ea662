//===- Passes.h - attn dialect passes -----------------------------*- C++ -*-===//
#ifndef ATTNC_DIALECT_ATTN_TRANSFORMS_PASSES_H
#define ATTNC_DIALECT_ATTN_TRANSFORMS_PASSES_H

#include "attnc/Dialect/Attn/IR/AttnDialect.h"
#include "mlir/Pass/Pass.h"

namespace mlir {
class RewritePatternSet;

namespace attn {

#define GEN_PASS_DECL
#include "attnc/Dialect/Attn/Transforms/Passes.h.inc"

/// attn.mixed_sdpa -> per-pattern attn.sdpa on slices.
void populateExpandPatternsPatterns(RewritePatternSet &patterns);
/// attn.sdpa -> attn.query_key + attn.weights_value.
void populateDecomposeAttentionPatterns(RewritePatternSet &patterns);

#define GEN_PASS_REGISTRATION
#include "attnc/Dialect/Attn/Transforms/Passes.h.inc"

} // namespace attn
} // namespace mlir

#endif // ATTNC_DIALECT_ATTN_TRANSFORMS_PASSES_H
