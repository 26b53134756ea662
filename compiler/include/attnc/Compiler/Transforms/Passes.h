//===- Passes.h - attnc target passes ---------------------------*- C++ -*-===//
#ifndef ATTNC_COMPILER_TRANSFORMS_PASSES_H
#define ATTNC_COMPILER_TRANSFORMS_PASSES_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace attnc {

/// Unit attribute on a linalg op on buffers whose init's previous contents
/// attnc-fold-zero-fills promised to be zeros (it erased the zero fill):
/// attnc-vectorize-contractions starts its accumulators from zero, or puts
/// the fill back in front of an op it does not rewrite.
inline constexpr llvm::StringLiteral kZeroInitAttrName = "attnc.zero_init";

/// LLVM function attribute (through `passthrough`) that
/// attnc-parallelize-elementwise puts on the kernels it writes: emitCpu
/// disables LLVM's loop unrolling in their loops.
inline constexpr llvm::StringLiteral kNoUnrollAttr = "attnc-no-unroll";

#define GEN_PASS_DECL
#include "attnc/Compiler/Transforms/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "attnc/Compiler/Transforms/Passes.h.inc"

} // namespace attnc

#endif // ATTNC_COMPILER_TRANSFORMS_PASSES_H
