//===- Pipelines.h - named attnc pass pipelines --------------------*- C++ -*-===//
#ifndef ATTNC_PIPELINES_PIPELINES_H
#define ATTNC_PIPELINES_PIPELINES_H

namespace mlir {
class OpPassManager;
} // namespace mlir

namespace attnc {

/// attn -> linalg on tensors, in order:
///   attn-expand-patterns, canonicalize, attn-flash-attention,
///   attn-decompose-attention,
///   convert-attn-to-linalg, canonicalize, cse.
/// Works on any op (typically a builtin.module). Without `flashAttention`
/// every attn.sdpa is decomposed (materialised [Sq, Skv] scores) instead of
/// tiled (attn-flash-attention: scf.forall + online softmax).
void buildLowerToLinalgPipeline(mlir::OpPassManager &pm,
                                bool flashAttention = true);

/// Registers `attnc-lower-to-linalg`.
void registerAttncPipelines();

} // namespace attnc

#endif // ATTNC_PIPELINES_PIPELINES_H
