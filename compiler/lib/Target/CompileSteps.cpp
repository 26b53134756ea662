//===- CompileSteps.cpp - steps shared by `attnc compile`'s targets -------===//

#include "CompileSteps.h"

#include "attnc/Compiler/Import/ConfigToAttn.h"
#include "attnc/Compiler/Target/Emit.h"
#include "attnc/Schema/Config.h"
#include "attnc/Schema/Weights.h"

#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Support/FileUtilities.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SHA256.h"
#include "llvm/Support/ToolOutputFile.h"

using namespace mlir;

namespace attnc::compile {

void PhaseTimer::phase(const char *name) {
  auto now = std::chrono::steady_clock::now();
  if (enabled)
    llvm::errs() << llvm::format(
        "  %-28s %8.3f s\n", name,
        std::chrono::duration<double>(now - last).count());
  last = now;
}

void PhaseTimer::total() {
  last = start;
  phase("total");
}

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

bool createDumpDir(const std::string &dir) {
  if (dir.empty())
    return true;
  if (std::error_code ec = llvm::sys::fs::create_directories(dir)) {
    llvm::errs() << "error: cannot create '" << dir << "': " << ec.message()
                 << "\n";
    return false;
  }
  return true;
}

LogicalResult
runPipeline(ModuleOp module, const std::string &dumpDir, const char *subdir,
            llvm::function_ref<LogicalResult(PassManager &)> build) {
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

OwningOpRef<ModuleOp> loadModel(MLIRContext &ctx, llvm::SourceMgr &sourceMgr,
                                const ModelConfig *config,
                                const std::string &mlirFile, bool incremental,
                                const std::string &cacheDtype) {
  if (!config)
    return parseSourceFile<ModuleOp>(mlirFile, sourceMgr, ParserConfig(&ctx));
  ImportOptions options;
  options.incremental = incremental;
  options.cacheDtype = cacheDtype;
  return importConfig(ctx, *config, options);
}

LogicalResult describeModel(ModuleOp module, const ModelConfig *config,
                            const TargetInfo &target,
                            std::vector<EntryPoint> &entries,
                            std::string &manifest) {
  std::vector<std::string> weightNames;
  std::string hash;
  if (config) {
    for (const WeightSpec &w : weightTable(*config))
      weightNames.push_back(w.name);
    llvm::SHA256 sha;
    sha.update(configHashInput(*config));
    hash = "sha256:" + llvm::toHex(sha.final(), /*LowerCase=*/true);
  }
  if (failed(describeEntryPoints(module, weightNames, entries)))
    return failure();
  manifest = buildManifestJson(config, hash, target, entries);
  return success();
}

} // namespace attnc::compile
