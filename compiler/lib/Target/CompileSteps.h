//===- CompileSteps.h - steps shared by `attnc compile`'s targets -*- C++ -*-===//
//
// compileCpu and compileCuda run the same front half (load the model, lower
// it to linalg, describe its entry points and manifest) and report and dump
// in the same way; the pieces live here so both targets behave alike.
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_COMPILER_TARGET_COMPILESTEPS_H
#define ATTNC_COMPILER_TARGET_COMPILESTEPS_H

#include "attnc/Compiler/Target/Manifest.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "mlir/Pass/PassManager.h"

#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>
#include <string>
#include <vector>

namespace attnc {
struct ModelConfig;
} // namespace attnc

namespace attnc::compile {

/// `attnc compile`'s exit codes.
enum ExitCode { kOk = 0, kFailed = 1, kUsage = 2 };

/// --timings: each phase's time on stderr, then the total.
struct PhaseTimer {
  bool enabled;
  std::chrono::steady_clock::time_point start =
      std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point last = start;
  void phase(const char *name);
  void total();
};

/// Writes what `print` prints to `path` ("-": stdout) through a temporary
/// file, so a failure leaves nothing half-written.
bool writeText(const std::string &path,
               llvm::function_ref<void(llvm::raw_ostream &)> print);

/// `dir`/`name`.
std::string stagePath(const std::string &dir, const char *name);

/// Creates --dump-ir-after-all's directory; false (with a message) when it
/// cannot.
bool createDumpDir(const std::string &dir);

/// Runs the passes `build` adds; with a dump directory, the IR after every
/// pass that changed it goes to `dumpDir`/`subdir`.
mlir::LogicalResult
runPipeline(mlir::ModuleOp module, const std::string &dumpDir,
            const char *subdir,
            llvm::function_ref<mlir::LogicalResult(mlir::PassManager &)> build);

/// The model to compile: `config` imported (ImportOptions::incremental,
/// cacheDtype), or, without a config, `mlirFile` parsed. Null after a
/// diagnostic.
mlir::OwningOpRef<mlir::ModuleOp>
loadModel(mlir::MLIRContext &ctx, llvm::SourceMgr &sourceMgr,
          const ModelConfig *config, const std::string &mlirFile,
          bool incremental, const std::string &cacheDtype);

/// The entry points of a module lowered to linalg and its manifest for
/// `target` (weights named by the config's weight table, the config's hash).
mlir::LogicalResult describeModel(mlir::ModuleOp module,
                                  const ModelConfig *config,
                                  const TargetInfo &target,
                                  std::vector<EntryPoint> &entries,
                                  std::string &manifest);

} // namespace attnc::compile

#endif // ATTNC_COMPILER_TARGET_COMPILESTEPS_H
