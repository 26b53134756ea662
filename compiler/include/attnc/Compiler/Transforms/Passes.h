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

#define GEN_PASS_DECL
#include "attnc/Compiler/Transforms/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "attnc/Compiler/Transforms/Passes.h.inc"

} // namespace attnc

#endif // ATTNC_COMPILER_TRANSFORMS_PASSES_H
