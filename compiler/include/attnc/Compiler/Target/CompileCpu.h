//===- CompileCpu.h - `attnc compile` for the CPU, end to end ----*- C++ -*-===//
//
// config or .mlir file -> attn -> linalg on tensors -> LLVM -> artifact.
// No MLIR types here, so that the CLI's CLI11 translation unit stays free of
// MLIR headers.
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_COMPILER_TARGET_COMPILECPU_H
#define ATTNC_COMPILER_TARGET_COMPILECPU_H

#include "attnc/Compiler/Target/CompileRequest.h"

namespace attnc {

/// emit: linalg | llvm-mlir | llvm | obj | artifact.
struct CompileCpuRequest : CompileRequest {
  std::string cpu = "native"; ///< see resolveCpuTarget
};

int compileCpu(const CompileCpuRequest &request);

} // namespace attnc

#endif // ATTNC_COMPILER_TARGET_COMPILECPU_H
