//===- CompileCpu.h - `attnc compile` for the CPU, end to end ----*- C++ -*-===//
//
// config or .mlir file -> attn -> linalg on tensors -> LLVM -> artifact.
// No MLIR types here, so that the CLI's CLI11 translation unit stays free of
// MLIR headers.
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_COMPILER_TARGET_COMPILECPU_H
#define ATTNC_COMPILER_TARGET_COMPILECPU_H

#include <iosfwd>
#include <string>

namespace attnc {

struct ModelConfig;

struct CompileCpuRequest {
  /// The model: a validated config, or (when null) `mlirFile`, a module in
  /// the attn dialect or already in linalg on tensors.
  const ModelConfig *config = nullptr;
  std::string mlirFile;
  std::string output;           ///< the artifact (or the --emit stage)
  std::string emit = "artifact"; ///< linalg | llvm-mlir | llvm | obj | artifact
  std::string cpu = "native";    ///< see resolveCpuTarget
  unsigned optLevel = 3;
  std::string dumpDir; ///< --dump-ir-after-all: every stage goes there
  bool timings = false; ///< print each phase's time to stderr
  /// Import `prefill` and `decode` instead of `forward`
  /// (ImportOptions::incremental; a config only).
  bool incremental = false;
  /// With `incremental`: the KV caches' dtype (ImportOptions::cacheDtype;
  /// empty: the model's).
  std::string cacheDtype;
};

/// Runs the request. Diagnostics go to stderr; returns 0 on success, 1 when
/// the model fails to compile, 2 for usage/IO problems (exit codes of the
/// CLI).
int compileCpu(const CompileCpuRequest &request);

} // namespace attnc

#endif // ATTNC_COMPILER_TARGET_COMPILECPU_H
