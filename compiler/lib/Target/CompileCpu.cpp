//===- CompileCpu.cpp - `attnc compile` for the CPU, end to end -----------===//

#include "attnc/Compiler/Target/CompileCpu.h"

#include "attnc/Compiler/Import/ConfigToAttn.h"
#include "attnc/Compiler/Pipelines/Pipelines.h"
#include "attnc/Compiler/Target/Emit.h"
#include "attnc/Compiler/Target/Manifest.h"
#include "attnc/InitAllAttnc.h"
#include "attnc/Pipelines/Pipelines.h"
#include "attnc/Schema/Config.h"
#include "attnc/Schema/Weights.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/FileUtilities.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SHA256.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <chrono>

using namespace mlir;

namespace {

enum { kOk = 0, kFailed = 1, kUsage = 2 };

struct PhaseTimer {
  bool enabled;
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point last = start;
  void phase(const char *name) {
    auto now = std::chrono::steady_clock::now();
    if (enabled)
      llvm::errs() << llvm::format("  %-28s %8.3f s\n", name,
                                   std::chrono::duration<double>(now - last)
                                       .count());
    last = now;
  }
  void total() {
    if (enabled)
      llvm::errs() << llvm::format(
          "  %-28s %8.3f s\n", "total",
          std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                        start)
              .count());
  }
};

/// Writes `text` (or `module`) to `path` through a temporary file.
bool writeText(const std::string &path,
               llvm::function_ref<void(llvm::raw_ostream &)> print) {
  std::string err;
  auto out = openOutputFile(path, &err);
  if (!out) {
    llvm::errs() << "error: " << err << "\n";
    return false;
  }
  print(out->os());
  out->keep();
  return true;
}

std::string stagePath(const std::string &dir, const char *name) {
  llvm::SmallString<256> p(dir);
  llvm::sys::path::append(p, name);
  return std::string(p);
}

LogicalResult runPipeline(ModuleOp module, const std::string &dumpDir,
                          const char *subdir,
                          llvm::function_ref<LogicalResult(PassManager &)>
                              build) {
  PassManager pm(module.getContext());
  if (failed(build(pm)))
    return failure();
  if (!dumpDir.empty()) {
    module.getContext()->disableMultithreading();
    pm.enableIRPrintingToFileTree(
        [](Pass *, Operation *) { return false; },
        [](Pass *, Operation *) { return true; }, /*printModuleScope=*/true,
        /*printAfterOnlyOnChange=*/true, /*printAfterOnlyOnFailure=*/false,
        stagePath(dumpDir, subdir));
  }
  return pm.run(module);
}

} // namespace

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
  if (!req.dumpDir.empty())
    if (std::error_code ec = llvm::sys::fs::create_directories(req.dumpDir)) {
      llvm::errs() << "error: cannot create '" << req.dumpDir
                   << "': " << ec.message() << "\n";
      return kUsage;
    }

  DialectRegistry registry;
  registerAllDialects(registry);
  registerCpuTargetDialects(registry);
  MLIRContext ctx(registry);
  // Diagnostics point into the config or the .mlir file; the failing op's
  // generic form is noise for a user.
  ctx.printOpOnDiagnostic(false);
  llvm::SourceMgr sourceMgr;
  SourceMgrDiagnosticHandler diagnostics(sourceMgr, &ctx);

  OwningOpRef<ModuleOp> module;
  if (req.config) {
    ImportOptions importOptions;
    importOptions.incremental = req.incremental;
    importOptions.cacheDtype = req.cacheDtype;
    module = importConfig(ctx, *req.config, importOptions);
  }
  else
    module = parseSourceFile<ModuleOp>(req.mlirFile, sourceMgr,
                                       ParserConfig(&ctx));
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

  std::vector<std::string> weightNames;
  std::string hash;
  if (req.config) {
    for (const WeightSpec &w : weightTable(*req.config))
      weightNames.push_back(w.name);
    llvm::SHA256 sha;
    sha.update(configHashInput(*req.config));
    hash = "sha256:" + llvm::toHex(sha.final(), /*LowerCase=*/true);
  }
  std::vector<EntryPoint> entries;
  if (failed(describeEntryPoints(*module, weightNames, entries)))
    return kFailed;
  std::string manifest =
      buildManifestJson(req.config, hash, target->info, entries);
  if (!req.dumpDir.empty())
    writeText(stagePath(req.dumpDir, "manifest.json"),
              [&](llvm::raw_ostream &os) { os << manifest << "\n"; });
  timer.phase("entry points / manifest");

  if (failed(runPipeline(*module, req.dumpDir, "2-cpu-pipeline",
                         buildCpuPipeline)))
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
