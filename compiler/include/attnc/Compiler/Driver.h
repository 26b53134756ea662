//===- Driver.h - config -> MLIR text, without MLIR in the interface -*- C++ -*-===//
//
// What the CLI (and tests) call to turn a validated config into MLIR: no
// MLIR types here, so a CLI11 translation unit can include it cheaply.
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_COMPILER_DRIVER_H
#define ATTNC_COMPILER_DRIVER_H

#include <iosfwd>
#include <string>

namespace attnc {

struct ModelConfig;

/// How far to take the module.
enum class EmitStage {
  Attn,   ///< the import: the attn dialect (compiler/docs/entry-points.md)
  Linalg, ///< after attnc-lower-to-linalg: linalg/tensor/arith/math
};

struct EmitModuleOptions {
  /// Print locations (config file:line:col and config paths) in the IR.
  bool debugInfo = false;
  /// Return every layer's keys and values (ImportOptions::returnKV).
  bool returnKV = false;
  /// `prefill` and `decode` instead of `forward` (ImportOptions::incremental).
  bool incremental = false;
  /// With `incremental`: the KV caches' dtype (ImportOptions::cacheDtype;
  /// empty: the model's).
  std::string cacheDtype;
};

/// Imports `config`, verifies the module, lowers it to `stage` and prints it
/// to `out`. Problems go to `err` as `file:line:col: error: message` (with
/// the config line and a caret, like `attnc validate`), naming the config
/// path they come from. Returns 0 on success, 1 when the config cannot be
/// compiled (a feature the compiler does not support yet, or an internal
/// error, which the message says).
int emitModule(const ModelConfig &config, EmitStage stage, std::ostream &out,
               std::ostream &err, const EmitModuleOptions &options = {});

} // namespace attnc

#endif // ATTNC_COMPILER_DRIVER_H
