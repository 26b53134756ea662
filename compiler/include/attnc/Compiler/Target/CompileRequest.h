//===- CompileRequest.h - what every `attnc compile` target takes -*- C++ -*-===//
//
// The fields the CPU and CUDA targets share (CompileCpuRequest and
// CompileCudaRequest add their own). No MLIR types here: the CLI's CLI11
// translation unit includes it.
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_COMPILER_TARGET_COMPILEREQUEST_H
#define ATTNC_COMPILER_TARGET_COMPILEREQUEST_H

#include <string>

namespace attnc {

struct ModelConfig;

struct CompileRequest {
  /// The model: a validated config, or (when null) `mlirFile`, a module in
  /// the attn dialect or already in linalg on tensors.
  const ModelConfig *config = nullptr;
  std::string mlirFile;
  std::string output;            ///< the artifact (or the --emit stage)
  std::string emit = "artifact"; ///< the stage to write (per target)
  unsigned optLevel = 3;
  /// Threads for LLVM's optimizer and code generator (CPU target); 0: one
  /// per core this process may run on.
  unsigned jobs = 0;
  std::string dumpDir;  ///< --dump-ir-after-all: every stage goes there
  bool timings = false; ///< print each phase's time to stderr
  /// Import `prefill` and `decode` instead of `forward`
  /// (ImportOptions::incremental; a config only).
  bool incremental = false;
  /// With `incremental`: the KV caches' dtype (ImportOptions::cacheDtype;
  /// empty: the model's).
  std::string cacheDtype;
};

} // namespace attnc

#endif // ATTNC_COMPILER_TARGET_COMPILEREQUEST_H
