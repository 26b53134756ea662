//===- Emit.h - From the LLVM dialect to a native CPU artifact ---*- C++ -*-===//
//
// The CPU back end of `attnc compile`:
//
//   linalg on tensors ──describeEntryPoints──> EntryPoint list (manifest)
//        │ attnc-cpu-pipeline (attnc/Compiler/Pipelines/Pipelines.h)
//   LLVM dialect ──emitCpu──> LLVM IR (+ attnc_entry_* wrappers, manifest
//        globals) ──O3, TargetMachine──> objects (one per part, -j)
//        ──ld.lld──> shared object
//
// Entry points are the public func.func definitions. Each argument's name
// comes from its `attnc.name` argument attribute (else "argN"), each
// result's from its `attnc.name` result attribute (else "resultN"). An
// argument is a weight when its `attnc.role` attribute is "weight", or,
// without that attribute, when its name is in the weight table; otherwise an
// input. The import (attnc/Compiler/Driver.h) sets these attributes.
//
// No CLI11/valijson/nlohmann here.
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_COMPILER_TARGET_EMIT_H
#define ATTNC_COMPILER_TARGET_EMIT_H

#include "attnc/Compiler/Target/Manifest.h"

#include <optional>
#include <string>
#include <vector>

#include "mlir/Support/LLVM.h"
#include "llvm/Support/LogicalResult.h"

namespace mlir {
class DialectRegistry;
class ModuleOp;
} // namespace mlir

namespace attnc {

/// Argument/result attributes read by describeEntryPoints.
inline constexpr const char kNameAttr[] = "attnc.name";
inline constexpr const char kRoleAttr[] = "attnc.role";

/// What the code is generated for.
struct CpuTarget {
  std::string triple;
  std::string cpu;      ///< LLVM CPU name
  std::string features; ///< LLVM feature string ("+avx2,+fma,...")
  TargetInfo info;      ///< what the manifest says about it
};

/// Resolves `--cpu`: "native" (the host), "x86-64-v3", "x86-64-v4",
/// "generic" (baseline x86-64), or any CPU name LLVM knows. Returns nullopt
/// with `error` set for an unknown name.
std::optional<CpuTarget> resolveCpuTarget(const std::string &requested,
                                          std::string &error);

/// The LLVM dialect and its translation to LLVM IR, on top of what the
/// pipelines produce (attnc::registerAllDialects covers the rest).
void registerCpuTargetDialects(mlir::DialectRegistry &registry);

/// Describes the public functions of a linalg-on-tensors module (see the
/// file comment) and marks them `llvm.emit_c_interface`. Fails, with a
/// diagnostic on the function, on a non-tensor result or an output dim the
/// inputs do not determine.
mlir::LogicalResult
describeEntryPoints(mlir::ModuleOp module,
                    const std::vector<std::string> &weightNames,
                    std::vector<EntryPoint> &entries);

enum class EmitKind {
  LLVMIR,       ///< optimized LLVM IR text (--emit=llvm)
  Object,       ///< relocatable object (--emit=obj)
  SharedObject, ///< the artifact
};

struct EmitOptions {
  CpuTarget target;
  std::vector<EntryPoint> entries;
  std::string manifestJson;
  unsigned optLevel = 3;
  /// When set, writes llvm.ll (before O3) and llvm-opt.ll (after) there.
  std::string dumpDir;
  /// Threads for LLVM's optimizer and code generator: the artifact's
  /// module is cut into up to this many parts (see LLVMCodegen.cpp).
  unsigned jobs = 1;
  /// The linker; empty: ld.lld from PATH, else /usr/lib/llvm-22/bin/ld.lld.
  std::string linker;
};

/// Translates an LLVM-dialect module, adds the attnc_entry_* wrappers and
/// the manifest/ABI globals, optimizes and writes `kind` to `outputPath`
/// (through a temporary file, renamed at the end). Returns false with
/// `error` set.
bool emitCpu(mlir::ModuleOp module, const EmitOptions &options,
             EmitKind kind, const std::string &outputPath,
             std::string &error);

} // namespace attnc

#endif // ATTNC_COMPILER_TARGET_EMIT_H
