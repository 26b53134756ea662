//===- Pipelines.h - named attnc pass pipelines --------------------*- C++ -*-===//
#ifndef ATTNC_PIPELINES_PIPELINES_H
#define ATTNC_PIPELINES_PIPELINES_H

namespace mlir {
class OpPassManager;
} // namespace mlir

namespace attnc {

/// attn -> linalg on tensors, in order:
///   attn-expand-patterns, canonicalize, attn-decompose-attention,
///   convert-attn-to-linalg, canonicalize, cse.
/// Works on any op (typically a builtin.module).
void buildLowerToLinalgPipeline(mlir::OpPassManager &pm);

/// Registers `attnc-lower-to-linalg`.
void registerAttncPipelines();

} // namespace attnc

#endif // ATTNC_PIPELINES_PIPELINES_H
