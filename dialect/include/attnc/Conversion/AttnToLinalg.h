//===- AttnToLinalg.h - attn -> linalg/tensor/arith/math ----------*- C++ -*-===//
#ifndef ATTNC_CONVERSION_ATTNTOLINALG_H
#define ATTNC_CONVERSION_ATTNTOLINALG_H

#include <cstdint>

namespace mlir {
class ConversionTarget;
class RewritePatternSet;

namespace attn {

/// Patterns that replace every attn op (the coarse attention ops through
/// their expansion/decomposition patterns) by linalg/tensor/arith/math ops.
void populateAttnToLinalgConversionPatterns(RewritePatternSet &patterns);

/// attn.sdpa -> scf.forall over (batch, head, query tile) with an
/// online-softmax scf.for over key tiles (see attn-flash-attention).
void populateFlashAttentionPatterns(RewritePatternSet &patterns,
                                    int64_t queryTile, int64_t keyTile);

/// Marks attn illegal and linalg/tensor/arith/math legal.
void configureAttnToLinalgTarget(ConversionTarget &target);

} // namespace attn
} // namespace mlir

#endif // ATTNC_CONVERSION_ATTNTOLINALG_H
