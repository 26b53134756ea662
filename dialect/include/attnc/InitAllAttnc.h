//===- InitAllAttnc.h - one registration point for attnc tools ----*- C++ -*-===//
//
// Every tool (attnc-opt, the attnc CLI, tests) registers dialects and passes
// through these two functions, so that what one tool parses, all do
// (Triton's RegisterTritonDialects.h). Add new dialects and passes here, not
// in the tools.
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_INITALLATTNC_H
#define ATTNC_INITALLATTNC_H

namespace mlir {
class DialectRegistry;
} // namespace mlir

namespace attnc {

/// attn plus the upstream dialects attnc produces or consumes (func, arith,
/// math, tensor, linalg, bufferization, memref, scf, affine), with the
/// external interface models that bufferization and tiling need.
void registerAllDialects(mlir::DialectRegistry &registry);

/// attn passes, attn conversions, attnc pipelines, and the upstream passes
/// the tests and pipelines use (generic transforms, linalg, tensor, memref,
/// func, bufferization).
void registerAllPasses();

} // namespace attnc

#endif // ATTNC_INITALLATTNC_H
