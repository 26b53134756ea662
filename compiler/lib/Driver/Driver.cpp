//===- Driver.cpp - config -> attn / linalg text --------------------------===//

#include "attnc/Compiler/Driver.h"

#include "attnc/Compiler/Import/ConfigToAttn.h"
#include "attnc/InitAllAttnc.h"
#include "attnc/Pipelines/Pipelines.h"
#include "attnc/Schema/Config.h"
#include "attnc/Schema/Diagnostic.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OperationSupport.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

#include <ostream>

using namespace mlir;

namespace {

/// The config file position and config path of an MLIR location built by
/// the import (FusedLoc[FileLineColLoc, NameLoc]); anything else gives what
/// it can.
void describeLocation(Location loc, attnc::SourceLoc &where,
                      std::string &path) {
  loc->walk([&](Location l) {
    if (auto file = dyn_cast<FileLineColLoc>(l)) {
      if (where.file.empty()) {
        where.file = file.getFilename().str();
        where.line = int(file.getLine());
        where.column = int(file.getColumn());
      }
    } else if (auto name = dyn_cast<NameLoc>(l)) {
      if (path.empty())
        path = name.getName().str();
    }
    return WalkResult::advance();
  });
}

/// Prints MLIR diagnostics the way `attnc validate` prints config problems,
/// with the offending config line under each.
class ConfigDiagnosticPrinter {
public:
  explicit ConfigDiagnosticPrinter(std::ostream &err) : err(err) {}

  void print(mlir::Diagnostic &diag) {
    attnc::Diagnostic d;
    switch (diag.getSeverity()) {
    case DiagnosticSeverity::Error:
      d.severity = attnc::Severity::Error;
      ++errors;
      break;
    case DiagnosticSeverity::Warning:
      d.severity = attnc::Severity::Warning;
      break;
    default:
      d.severity = attnc::Severity::Note;
      break;
    }
    std::string path;
    describeLocation(diag.getLocation(), d.loc, path);
    d.message = diag.str();
    if (!path.empty())
      d.message += " (in " + path + ")";
    attnc::printDiagnostic(err, d, source(d.loc.file));
    for (mlir::Diagnostic &note : diag.getNotes())
      print(note);
  }

  int errors = 0;

private:
  const std::string *source(const std::string &file) {
    if (file.empty())
      return nullptr;
    auto it = sources.find(file);
    if (it == sources.end()) {
      auto buffer = llvm::MemoryBuffer::getFile(file);
      it = sources.insert({file, buffer ? (*buffer)->getBuffer().str() : ""})
               .first;
    }
    return it->second.empty() ? nullptr : &it->second;
  }

  std::ostream &err;
  llvm::StringMap<std::string> sources;
};

} // namespace

int attnc::emitModule(const ModelConfig &config, EmitStage stage,
                      std::ostream &out, std::ostream &err,
                      const EmitModuleOptions &options) {
  DialectRegistry registry;
  registerAllDialects(registry);
  MLIRContext ctx(registry);
  ctx.printOpOnDiagnostic(false);
  ConfigDiagnosticPrinter printer(err);
  ScopedDiagnosticHandler handler(&ctx, [&](mlir::Diagnostic &diag) {
    printer.print(diag);
    return success();
  });

  ImportOptions importOptions;
  importOptions.returnKV = options.returnKV;
  importOptions.incremental = options.incremental;
  importOptions.cacheDtype = options.cacheDtype;
  OwningOpRef<ModuleOp> module = importConfig(ctx, config, importOptions);
  if (!module) {
    if (!printer.errors)
      err << "error: the config could not be imported\n";
    return 1;
  }
  if (failed(verify(*module))) {
    err << "error: internal compiler error: the imported module does not "
           "verify (a bug in attnc's import; the message above says where)\n";
    return 1;
  }
  if (stage == EmitStage::Linalg) {
    PassManager pm(&ctx);
    buildLowerToLinalgPipeline(pm);
    if (failed(pm.run(*module))) {
      err << "error: internal compiler error: lowering to linalg failed (a "
             "bug in attnc; the message above says where)\n";
      return 1;
    }
  }
  std::string text;
  llvm::raw_string_ostream os(text);
  OpPrintingFlags flags;
  if (options.debugInfo)
    flags.enableDebugInfo(/*enable=*/true, /*prettyForm=*/false).useLocalScope();
  module->print(os, flags);
  out << text;
  return 0;
}
