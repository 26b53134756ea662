//===- CompileCpu.cpp - `attnc compile` for the CPU, end to end -----------===//

#include "attnc/Compiler/Target/CompileCpu.h"

#include "CompileSteps.h"

#include "attnc/Compiler/Pipelines/Pipelines.h"
#include "attnc/Compiler/Target/Emit.h"
#include "attnc/Compiler/Target/Manifest.h"
#include "attnc/InitAllAttnc.h"
#include "attnc/Pipelines/Pipelines.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"

#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/Threading.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>

using namespace mlir;
using namespace attnc::compile;

int attnc::compileCpu(const CompileCpuRequest &req) {
  PhaseTimer timer{req.timings};
  static const char *const kEmits[] = {"linalg", "llvm-mlir", "llvm", "obj",
                                       "artifact"};
  if (std::find(std::begin(kEmits), std::end(kEmits), req.emit) ==
      std::end(kEmits)) {
    llvm::errs() << "error: unknown --emit '" << req.emit
                 << "'; expected linalg, llvm-mlir, llvm, obj or artifact\n";
    return kUsage;
  }
  std::string error;
  std::optional<CpuTarget> target = resolveCpuTarget(req.cpu, error);
  if (!target) {
    llvm::errs() << "error: " << error << "\n";
    return kUsage;
  }
  if (!createDumpDir(req.dumpDir))
    return kUsage;

  DialectRegistry registry;
  registerAllDialects(registry);
  registerCpuTargetDialects(registry);
  MLIRContext ctx(registry);
  // Diagnostics point into the config or the .mlir file; the failing op's
  // generic form is noise for a user.
  ctx.printOpOnDiagnostic(false);
  llvm::SourceMgr sourceMgr;
  SourceMgrDiagnosticHandler diagnostics(sourceMgr, &ctx);

  OwningOpRef<ModuleOp> module =
      loadModel(ctx, sourceMgr, req.config, req.mlirFile, req.incremental,
                req.cacheDtype);
  if (!module)
    return kFailed;
  timer.phase("parse / import");
  if (!req.dumpDir.empty() &&
      !writeText(stagePath(req.dumpDir, "0-input.mlir"),
                 [&](llvm::raw_ostream &os) { module->print(os); }))
    return kUsage;

  if (failed(runPipeline(*module, req.dumpDir, "1-lower-to-linalg",
                         [](PassManager &pm) {
                           buildLowerToLinalgPipeline(pm);
                           return success();
                         })))
    return kFailed;
  timer.phase("attn -> linalg");
  if (!req.dumpDir.empty())
    writeText(stagePath(req.dumpDir, "1-linalg.mlir"),
              [&](llvm::raw_ostream &os) { module->print(os); });
  if (req.emit == "linalg")
    return writeText(req.output,
                     [&](llvm::raw_ostream &os) { module->print(os); })
               ? kOk
               : kUsage;

  std::vector<EntryPoint> entries;
  std::string manifest;
  if (failed(describeModel(*module, req.config, target->info, entries,
                           manifest)))
    return kFailed;
  if (!req.dumpDir.empty())
    writeText(stagePath(req.dumpDir, "manifest.json"),
              [&](llvm::raw_ostream &os) { os << manifest << "\n"; });
  timer.phase("entry points / manifest");

  if (failed(runPipeline(*module, req.dumpDir, "2-cpu-pipeline",
                         [&](PassManager &pm) {
                           return buildCpuPipeline(pm, target->info.isaLevel);
                         })))
    return kFailed;
  timer.phase("linalg -> LLVM dialect");
  if (!req.dumpDir.empty())
    writeText(stagePath(req.dumpDir, "2-llvm-dialect.mlir"),
              [&](llvm::raw_ostream &os) { module->print(os); });
  if (req.emit == "llvm-mlir")
    return writeText(req.output,
                     [&](llvm::raw_ostream &os) { module->print(os); })
               ? kOk
               : kUsage;

  EmitOptions options;
  options.target = *target;
  options.entries = entries;
  options.manifestJson = manifest;
  options.optLevel = req.optLevel;
  options.jobs = req.jobs != 0
                     ? req.jobs
                     : llvm::hardware_concurrency().compute_thread_count();
  options.dumpDir = req.dumpDir;
  EmitKind kind = req.emit == "llvm"  ? EmitKind::LLVMIR
                  : req.emit == "obj" ? EmitKind::Object
                                      : EmitKind::SharedObject;
  if (!emitCpu(*module, options, kind, req.output, error)) {
    llvm::errs() << "error: " << error << "\n";
    return kFailed;
  }
  timer.phase("LLVM O3, codegen, link");
  timer.total();
  return kOk;
}
